package datachan

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// patternStream is the benchmark's payload: a random pattern repeated up to size bytes. The
// period is not a power of two, so lost, duplicated or swapped chunks change the checksum.
type patternStream struct {
	size   int64
	period int
	buf    []byte // the pattern twice, so any rotation of it is one slice
	sum    uint32 // CRC-32C of the whole stream
}

// newPatternStream makes a size-byte stream and computes its checksum.
func newPatternStream(size int64) *patternStream {
	s := &patternStream{size: size, period: 1<<20 + 13}
	pattern := make([]byte, s.period)
	rand.NewChaCha8([32]byte{'f', 't', 'p'}).Read(pattern)
	s.buf = append(pattern, pattern...)
	s.chunks(func(p []byte) error { s.sum = crc32.Update(s.sum, castagnoli, p); return nil })
	return s
}

// chunks calls f with the stream's bytes in order, at most one period at a time, and stops
// at the first error.
func (s *patternStream) chunks(f func([]byte) error) error {
	for done := int64(0); done < s.size; {
		off := int(done % int64(s.period))
		k := int(min(int64(s.period), s.size-done))
		if err := f(s.buf[off : off+k]); err != nil {
			return err
		}
		done += int64(k)
	}
	return nil
}

// writeTo writes the whole stream to w.
func (s *patternStream) writeTo(w io.Writer) error {
	return s.chunks(func(p []byte) error { _, err := w.Write(p); return err })
}

// userHZ is the unit of /proc/stat (USER_HZ, 100 on every Linux architecture Go supports).
const userHZ = 100

// cpuMeter adds up CPU time over the measured parts of a benchmark: this process's user+sys
// (getrusage), the whole machine's busy time (/proc/stat), and the exact run time of this
// process plus all kernel threads (/proc/*/task/*/schedstat). Kernel threads working for the
// process, such as the psock backlog kworker that sends sockmap's egress redirects, are NOT
// in the process's rusage; they count in the other two.
//
// /proc/stat is sampled at each tick (tick-based accounting, no IRQ time accounting), so it
// misses work that runs between two ticks and then idles: the psock backlog retries a full
// socket one jiffy later, in step with the tick, and /proc/stat then undercounts sockmap.
// schedstat holds each task's exact run time (up to a tick stale for a running task), and
// leaving out other user processes keeps a concurrently busy machine out of the figure;
// kernel threads that exit meanwhile, and softirq work on top of the idle task, are missed.
type cpuMeter struct {
	process, machine, tasks time.Duration // totals over the measured intervals
	p0                      time.Duration
	m0                      uint64
	t0                      map[string]int64 // task run time (ns) by schedstat path
	kthread                 map[string]bool  // by /proc/PID directory
}

// start begins a measured interval.
func (m *cpuMeter) start() error {
	var err error
	if m.t0, err = m.taskRunTimes(); err != nil {
		return err
	}
	if m.m0, err = machineBusyTicks(); err != nil {
		return err
	}
	m.p0, err = processCPU()
	return err
}

// stop ends the measured interval begun by start and adds it to the totals.
func (m *cpuMeter) stop() error {
	p, err := processCPU()
	if err != nil {
		return err
	}
	t, err := machineBusyTicks()
	if err != nil {
		return err
	}
	tasks, err := m.taskRunTimes()
	if err != nil {
		return err
	}
	m.process += p - m.p0
	m.machine += time.Duration(t-m.m0) * time.Second / userHZ
	for path, ns := range tasks {
		m.tasks += time.Duration(ns - m.t0[path]) // a task new since start counts from 0
	}
	return nil
}

// taskRunTimes returns the run time in nanoseconds of each thread of this process and of
// each kernel thread, from the first field of /proc/PID/task/TID/schedstat, keyed by path.
func (m *cpuMeter) taskRunTimes() (map[string]int64, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/task/[0-9]*/schedstat")
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, errors.New("no /proc/*/task/*/schedstat (kernel without CONFIG_SCHED_INFO?)")
	}
	if m.kthread == nil {
		m.kthread = map[string]bool{fmt.Sprintf("/proc/%d", os.Getpid()): true}
	}
	times := make(map[string]int64, len(paths))
	for _, path := range paths {
		dir := path[:strings.Index(path, "/task/")]
		own, known := m.kthread[dir]
		if !known {
			own = isKernelThread(dir)
			m.kthread[dir] = own
		}
		if !own {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the task exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		times[path] = ns
	}
	return times, nil
}

// isKernelThread reports whether the process at dir (/proc/PID) is a kernel thread: the
// PF_KTHREAD bit of the flags in its stat file (false if it is gone).
func isKernelThread(dir string) bool {
	const pfKthread = 0x00200000
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')') // the command name may contain anything
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:])) // from field 3, state; flags is field 9
	if len(f) < 7 {
		return false
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	return err == nil && flags&pfKthread != 0
}

// processCPU returns the user+sys CPU time this process has used so far.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// machineBusyTicks returns the machine's busy CPU time so far, in USER_HZ ticks summed over
// all CPUs: everything in /proc/stat's "cpu" line except idle, iowait, and guest time (which
// user and nice already include).
func machineBusyTicks() (uint64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("/proc/stat: %w", err)
	}
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy uint64
	for i, f := range fields[1:9] { // user nice system idle iowait irq softirq steal
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, nil
}

// copyRelay returns a relayPath that copies with read(2) and write(2) through a buffer of
// size bytes (no io.Copy, which would splice).
func copyRelay(size int) relayPath {
	return func(a, b *net.TCPConn, ready func()) (int64, error) {
		ready()
		buf := make([]byte, size)
		var total int64
		for {
			n, err := a.Read(buf)
			if n > 0 {
				if _, werr := b.Write(buf[:n]); werr != nil {
					return total, werr
				}
				total += int64(n)
			}
			if errors.Is(err, io.EOF) {
				return total, b.CloseWrite()
			}
			if err != nil {
				return total, err
			}
		}
	}
}

// spliceRelay returns a relayPath that splices through its own pipe of pipeSize bytes
// (F_SETPIPE_SZ), filling the pipe from a with one splice and draining it into b. The
// sockets stay non-blocking under Go's poller: the RawConn callbacks report EAGAIN as "not
// done", and the poller waits. Filling only an empty pipe makes EAGAIN unambiguous.
func spliceRelay(pipeSize int) relayPath {
	return func(a, b *net.TCPConn, ready func()) (int64, error) {
		ready()
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			return 0, fmt.Errorf("pipe2: %w", err)
		}
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		size, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeSize)
		if err != nil {
			return 0, fmt.Errorf("F_SETPIPE_SZ %d: %w", pipeSize, err)
		}
		ra, err := a.SyscallConn()
		if err != nil {
			return 0, err
		}
		rb, err := b.SyscallConn()
		if err != nil {
			return 0, err
		}
		const flags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK
		var total int64
		for {
			var in int
			var serr error
			if err := ra.Read(func(fd uintptr) bool {
				in, serr = spliceRetry(int(fd), p[1], size, flags)
				return serr != unix.EAGAIN
			}); err != nil {
				return total, err
			}
			if serr != nil {
				return total, fmt.Errorf("splice from socket: %w", serr)
			}
			if in == 0 {
				return total, b.CloseWrite()
			}
			for in > 0 {
				var out int
				if err := rb.Write(func(fd uintptr) bool {
					out, serr = spliceRetry(p[0], int(fd), in, flags)
					return serr != unix.EAGAIN
				}); err != nil {
					return total, err
				}
				if serr != nil {
					return total, fmt.Errorf("splice to socket: %w", serr)
				}
				in -= out
				total += int64(out)
			}
		}
	}
}

// spliceRetry is splice(2) without offsets, retried on EINTR.
func spliceRetry(from, to, n int, flags int) (int, error) {
	for {
		k, err := unix.Splice(from, nil, to, nil, n, flags)
		if err != unix.EINTR {
			return int(k), err
		}
	}
}
