package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reaperEnv, when set to "1", turns any binary that links this package into
// the small reaper process that Topology.Start puts above every daemon.
const reaperEnv = "FTPGATE_TESTBED_REAPER"

// reaperCleanup bounds how long the reaper kills and reaps leftovers.
const reaperCleanup = 5 * time.Second

// Daemons such as vsftpd fork session processes that make themselves
// session leaders and outlive their parents. On machines whose PID 1 does not
// reap orphans they would stay zombies forever (and under a long benchmark
// exhaust the PID space). So Start does not run the command directly but
// re-executes the current binary as a reaper: a child subreaper that starts
// the command, forwards SIGTERM, SIGINT and SIGHUP to it, reaps every orphan while
// it runs, and when the command exits kills and reaps whatever is left below
// it before exiting the way the command did.
func init() {
	if os.Getenv(reaperEnv) != "1" {
		return
	}
	os.Exit(reaperMain(os.Args[1:]))
}

// reaperCommand wraps name and args so that they run under the reaper.
func reaperCommand(name string, args ...string) (string, []string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find own executable for the reaper: %w", err)
	}
	return self, append([]string{name}, args...), nil
}

// reaperMain is the reaper process. It returns the exit code, or re-raises
// the signal that killed the command.
func reaperMain(argv []string) int {
	// Pdeathsig of the command is bound to this thread.
	runtime.LockOSThread()
	if err := os.Unsetenv(reaperEnv); err != nil {
		fmt.Fprintln(os.Stderr, "testbed reaper:", err)
		return 127
	}
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "testbed reaper: no command")
		return 127
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "testbed reaper: prctl:", err)
		return 127
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed reaper:", err)
		return 127
	}
	// Started with os.StartProcess, not exec.Cmd: this process reaps with
	// wait4(-1), which must not race with an exec.Cmd.Wait.
	proc, err := os.StartProcess(path, argv, &os.ProcAttr{
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed reaper:", err)
		return 127
	}
	child := proc.Pid

	exited := make(chan syscall.WaitStatus, 1)
	go func() {
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, 0, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				return // ECHILD: nothing left
			}
			if pid == child {
				exited <- ws
				return
			}
		}
	}()
	var status syscall.WaitStatus
	for waiting := true; waiting; {
		select {
		case sig := <-sigs:
			_ = syscall.Kill(child, sig.(syscall.Signal))
		case status = <-exited:
			waiting = false
		}
	}
	killLeftovers()
	if status.Signaled() {
		sig := status.Signal()
		signal.Reset(sig)
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(time.Second) // the signal arrives before this ends
		return 128 + int(sig)
	}
	return status.ExitStatus()
}

// killLeftovers SIGKILLs this process's remaining children (orphans
// re-parented here, whose own children then come here too) and reaps them
// until none is left, bounded by reaperCleanup.
func killLeftovers() {
	self := os.Getpid()
	deadline := time.Now().Add(reaperCleanup)
	for time.Now().Before(deadline) {
		children := childrenOf(self)
		if len(children) == 0 {
			return
		}
		for _, pid := range children {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range children {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childrenOf lists the processes whose parent is parent.
func childrenOf(parent int) []int {
	return childrenWhere(parent, func(int) bool { return true })
}

// childrenWhere lists the processes whose parent is parent and whose process group
// satisfies keep.
func childrenWhere(parent int, keep func(pgrp int) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		if ppid, pgrp, ok := statIDs(pid); ok && ppid == parent && keep(pgrp) {
			pids = append(pids, pid)
		}
	}
	return pids
}
