package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// Bounds and margins of the idle-session memory measurement.
const (
	sessionWorkers = 16               // parallel logins while opening sessions
	rssSettle      = 2 * time.Second  // idle time before VmRSS is read
	pidMargin      = 4096             // PIDs left free for everything else on the machine
	memMargin      = 2 << 30          // bytes of MemAvailable left free
	firstMemGuess  = 4 << 20          // bytes per session (vsftpd + gateway + client) before one is measured
	sessionsBudget = 10 * time.Minute // opening all sessions of one count
)

// measureRSS starts the gateway of row id with no per-client session limit, opens idle
// anonymous sessions through it to the session server up to each of counts (ascending), and
// reads the gateway's VmRSS before and at each count: the growth divided by the sessions is
// the cell. A count the machine cannot hold (descriptors, PIDs, memory) or the server refuses
// gets a cell "n/a" with the reason, and so do the larger ones; only a broken gateway is an
// error.
func measureRSS(ctx context.Context, p *printer, e *benchEnv, id rowID, counts []int) (cells []rssCell, err error) {
	// Idle sessions hold two descriptors each (client and server), not the six ftpgate
	// reserves per session when it sizes max_sessions itself: the limit is given.
	g, err := e.b.startGateway(ctx, e.c.bin, append(e.gatewayArgs(id), "-max-sessions-per-client", "0",
		"-max-sessions", strconv.Itoa(counts[len(counts)-1]+64))...)
	if err != nil {
		return nil, err
	}
	var open []*ctrl
	defer func() {
		for _, c := range open {
			c.conn.Close()
		}
		if serr := e.stopGateway(context.WithoutCancel(ctx), g); serr != nil && err == nil {
			err = serr
		}
	}()
	pid, err := childPID(g.Proc.Pid())
	if err != nil {
		return nil, fmt.Errorf("ftpgate's PID: %w", err)
	}
	time.Sleep(rssSettle)
	base, err := vmRSS(pid)
	if err != nil {
		return nil, err
	}
	openFiles := gatewayOpenFiles(g)
	target := e.target(id)
	target.user, target.pass = anonUser, anonPass
	perSession := float64(firstMemGuess)
	na := ""
	for _, n := range counts {
		if na == "" {
			var detail string
			if na, detail = sessionsFeasible(n, len(open), openFiles, perSession); na != "" {
				p.step("%s: %d idle sessions: n/a: %s", rowSpecs[id].name, n, detail)
			}
		}
		if na != "" {
			cells = append(cells, rssCell{sessions: n, na: na})
			continue
		}
		cell, err := rssStep(ctx, p, id, target, pid, base, n, &open, &perSession)
		if err != nil {
			return nil, err
		}
		na = cell.na
		cells = append(cells, cell)
	}
	return cells, nil
}

// rssStep opens sessions until n are open (*open holds them) and measures ftpgate's growth
// in resident memory per session from base; a session that fails makes the cell "n/a". It
// sets *perSession to the machine's memory cost per session seen, with a margin. Only a context end or
// an unreadable VmRSS is an error.
func rssStep(ctx context.Context, p *printer, id rowID, target ftpTarget, pid int, base int64, n int,
	open *[]*ctrl, perSession *float64) (rssCell, error) {
	memBefore, _ := memAvailable()
	start := time.Now()
	more, err := openSessions(ctx, target, n-len(*open))
	*open = append(*open, more...)
	if err != nil {
		if ctx.Err() != nil {
			return rssCell{}, err
		}
		na := fmt.Sprintf("session %d failed", len(*open)+1)
		p.step("%s: %d idle sessions: n/a: %s: %s", rowSpecs[id].name, n, na, firstLine(err))
		return rssCell{sessions: n, na: na}, nil
	}
	time.Sleep(rssSettle)
	rss, err := vmRSS(pid)
	if err != nil {
		return rssCell{}, err
	}
	if memAfter, err := memAvailable(); err == nil && memBefore > memAfter && len(more) > 0 {
		// What the machine really spent per session, with a margin, replaces the first guess.
		*perSession = 1.5 * float64(memBefore-memAfter) / float64(len(more))
	}
	p.step("%s: %d idle sessions opened in %.1fs, ftpgate VmRSS %d → %d KiB", rowSpecs[id].name, n,
		time.Since(start).Seconds(), base, rss)
	return rssCell{sessions: n, perSession: float64(rss-base) * 1024 / float64(n)}, nil
}

// gatewayFDSlack is what the gateway's descriptor limit must leave besides two descriptors
// per idle session: listeners, netlink sockets, logs.
const gatewayFDSlack = 256

// sessionsFeasible returns why n sessions (have of them already open) cannot be held here,
// briefly for the cell and in detail, or "" when they can: the bench's descriptors, the
// gateway's (two per idle session; gatewayFiles is its limit, 0 if unknown), free PIDs (the
// session server runs a process per session) and memory (perSession bytes each).
func sessionsFeasible(n, have, gatewayFiles int, perSession float64) (short, detail string) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < uint64(n+1024) {
		return "fd limit", fmt.Sprintf("the bench may open %d descriptors", rl.Cur)
	}
	if gatewayFiles > 0 && gatewayFiles < 2*n+gatewayFDSlack {
		return "ftpgate fd limit", fmt.Sprintf("%d sessions need %d descriptors in ftpgate; its limit is %d (the hard limit here: raising it needs CAP_SYS_RESOURCE)",
			n, 2*n+gatewayFDSlack, gatewayFiles)
	}
	if free, err := freePIDs(); err != nil || free < n-have+pidMargin {
		return "PIDs", fmt.Sprintf("%d free PIDs", free)
	}
	if avail, err := memAvailable(); err != nil || float64(avail) < float64(n-have)*perSession+memMargin {
		return "memory", fmt.Sprintf("%d MiB available, about %.0f KiB per session needed", avail>>20, perSession/1024)
	}
	return "", ""
}

// openSessions opens n logged-in control connections to t, sessionWorkers at a time. It
// returns those it opened, also on error (the caller closes them).
func openSessions(ctx context.Context, t ftpTarget, n int) ([]*ctrl, error) {
	ctx, cancel := context.WithTimeout(ctx, sessionsBudget)
	defer cancel()
	var (
		mu   sync.Mutex
		out  = make([]*ctrl, 0, n)
		next atomic.Int64
		wg   sync.WaitGroup
		errs []error
	)
	for range min(sessionWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				c, err := t.login(ctx)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					mu.Unlock()
					cancel()
					return
				}
				out = append(out, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return out, errs[0]
	}
	if len(out) < n {
		return out, fmt.Errorf("opened %d of %d sessions: %w", len(out), n, ctx.Err())
	}
	return out, nil
}

// raiseNoFile raises this process's descriptor limit (soft and, as root, hard) to at least
// want; processes started later — the gateway among them — inherit it.
func raiseNoFile(want uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("descriptor limit: %w", err)
	}
	if rl.Cur >= want {
		return nil
	}
	rl.Cur, rl.Max = want, max(rl.Max, want)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("raise descriptor limit to %d: %w", want, err)
	}
	return nil
}

// gatewayOpenFiles reads open_files (its descriptor limit) from the gateway's "session
// limits" log record, 0 if it is not there.
func gatewayOpenFiles(g *scenario.Gateway) int {
	for _, m := range g.Logs("session limits") {
		if v, ok := m["open_files"].(float64); ok {
			return int(v)
		}
	}
	return 0
}

// childPID returns the PID of the one child of parent (the gateway below its reaper).
func childPID(parent int) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("list processes: %w", err)
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		if ppid, err := parseStatPPID(string(b)); err == nil && ppid == parent {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("process %d has %d children, want 1", parent, len(found))
	}
	return found[0], nil
}

// vmRSS returns the resident memory of pid in KiB.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read VmRSS: %w", err)
	}
	return parseStatusKiB(string(b), "VmRSS")
}

// memAvailable returns the machine's MemAvailable in bytes.
func memAvailable() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read meminfo: %w", err)
	}
	kib, err := parseStatusKiB(string(b), "MemAvailable")
	return kib * 1024, err
}

// freePIDs returns how many more tasks the machine can start before pid_max: the fourth
// field of /proc/loadavg ("running/total") gives the tasks in use.
func freePIDs() (int, error) {
	pm, err1 := os.ReadFile("/proc/sys/kernel/pid_max")
	la, err2 := os.ReadFile("/proc/loadavg")
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("free PIDs: %w", err)
	}
	pidMax, err := strconv.Atoi(strings.TrimSpace(string(pm)))
	if err != nil {
		return 0, fmt.Errorf("pid_max: %w", err)
	}
	f := strings.Fields(string(la))
	if len(f) < 4 {
		return 0, fmt.Errorf("loadavg %q: too few fields", la)
	}
	_, total, ok := strings.Cut(f[3], "/")
	used, err := strconv.Atoi(total)
	if !ok || err != nil {
		return 0, fmt.Errorf("loadavg %q: no task count", la)
	}
	return pidMax - used, nil
}

// firstLine is the first line of err's message.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
