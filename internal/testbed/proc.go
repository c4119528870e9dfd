package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Stop waits this long after SIGTERM before it sends SIGKILL.
const stopGrace = 5 * time.Second

// Proc is a long-running process started by Topology.Start.
type Proc struct {
	// Log is the path of the file that receives the process's stdout and
	// stderr.
	Log string

	cmd  *exec.Cmd
	pid  int
	done chan struct{} // closed once the process has been reaped
	err  error         // wait error, valid after done

	stopOnce sync.Once
	stopErr  error
}

// Start starts name with args in namespace ns, in its own process group,
// with stdout and stderr appended to a log file in tp.Dir. The command runs
// below a small reaper process (this binary re-executed, see reaper.go), so
// orphaned grandchildren such as vsftpd sessions are reaped and killed with
// it; Pid is the reaper's. The process gets SIGKILL if the starting program
// dies, and is stopped by the topology's cleanup if it is still running then.
func (tp *Topology) Start(ns string, name string, args ...string) (*Proc, error) {
	if err := tp.checkNS(ns); err != nil {
		return nil, err
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.closed {
		return nil, errors.New("testbed: start: topology is closed")
	}
	logPath := filepath.Join(tp.Dir, fmt.Sprintf("%s-%s-%d.log", tp.role(ns), filepath.Base(name), len(tp.procs)+1))
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testbed: start: %w", err)
	}
	self, rargs, err := reaperCommand(name, args...)
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("testbed: start: %w", err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, self}, rargs...)...)
	cmd.Env = append(os.Environ(), reaperEnv+"=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{Log: logPath, cmd: cmd, done: make(chan struct{})}

	// Pdeathsig fires when the forking *thread* exits, so fork from a
	// locked thread that lives exactly as long as the child: this goroutine
	// starts it, waits for it and only then lets its thread go.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	err = <-started
	logFile.Close() // the child holds its own copy
	if err != nil {
		return nil, fmt.Errorf("testbed: start %s in %s: %w", name, ns, err)
	}
	tp.procs = append(tp.procs, p)
	return p, nil
}

// role names ns for log files.
func (tp *Topology) role(ns string) string {
	switch ns {
	case tp.Client:
		return "client"
	case tp.GW:
		return "gw"
	case tp.Server:
		return "server"
	}
	if tp.HA != nil && ns == tp.HA.GW2 {
		return "gw2"
	}
	return ns
}

// Signal sends sig to the process (through its reaper, which forwards SIGTERM, SIGINT and
// SIGHUP).
func (p *Proc) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return errors.New("testbed: signal: process has exited")
	default:
	}
	return syscall.Kill(p.pid, sig)
}

// Pid returns the process ID (also its process group ID).
func (p *Proc) Pid() int { return p.pid }

// Done is closed when the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns the process's exit error once Done is closed, nil before.
func (p *Proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop sends SIGTERM to the process group, waits up to 5s, then sends
// SIGKILL. It reaps the process and any orphaned members of its group that
// were re-parented to this process (see Subreaper). It returns the exit
// error, except that death by the SIGTERM it sent counts as success; a
// process that had to be killed is an error. Stop may be called many times.
func (p *Proc) Stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *Proc) stop() error {
	termed, killed := false, false
	select {
	case <-p.done:
	default:
		termed = syscall.Kill(-p.pid, syscall.SIGTERM) == nil
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			killed = true
			p.quit()
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
				return fmt.Errorf("testbed: pid %d survived SIGKILL for %v", p.pid, stopGrace)
			}
		}
	}
	// Leftover members of the group (for example vsftpd sessions).
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	reapGroup(p.pid, stopGrace)

	err := p.err
	if killed {
		return fmt.Errorf("testbed: pid %d ignored SIGTERM for %v and was killed (its log, with a Go program's goroutines after SIGQUIT, is kept in %s): %w",
			p.pid, stopGrace, p.keepLog(), err)
	}
	var ee *exec.ExitError
	if termed && errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("testbed: %s (log %s): %w", strings.Join(p.cmd.Args, " "), p.Log, err)
	}
	return nil
}

// quit sends SIGQUIT to a process that ignored SIGTERM: a Go program writes every
// goroutine's stack to its stderr (the log) and exits. It waits up to 2 s.
func (p *Proc) quit() {
	if syscall.Kill(-p.pid, syscall.SIGQUIT) != nil {
		return
	}
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
	}
}

// keepLog copies the log of a hung process where the test bed's cleanup does not reach,
// and returns that path ("" if it could not).
func (p *Proc) keepLog() string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return ""
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("ftpgate-hung-%d.log", p.pid))
	if os.WriteFile(path, b, 0o644) != nil {
		return ""
	}
	return path
}

// reapGroup waits for processes of group pgid that have become children of
// this process (after their parent died, with Subreaper set), so they do
// not stay zombies. Processes that are not our children are left alone.
// Bounded by limit.
func reapGroup(pgid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	self := os.Getpid()
	for time.Now().Before(deadline) {
		pids := groupChildren(self, pgid)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupChildren lists the children of parent whose process group is pgid.
func groupChildren(parent, pgid int) []int {
	return childrenWhere(parent, func(pgrp int) bool { return pgrp == pgid })
}

// statIDs reads the parent PID and process group of pid from /proc.
func statIDs(pid int) (ppid, pgrp int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name may contain spaces and parentheses: parse after
	// the last ')'. Fields: state ppid pgrp ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	var state string
	if _, err := fmt.Sscanf(s[i+1:], " %s %d %d", &state, &ppid, &pgrp); err != nil {
		return 0, 0, false
	}
	return ppid, pgrp, true
}
