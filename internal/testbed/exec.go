package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultExecTimeout bounds Exec when its context has no deadline.
const DefaultExecTimeout = 2 * time.Minute

// maxErrOutput bounds how much of a command's output goes into an error.
const maxErrOutput = 4096

// Exec runs name with args in namespace ns (through `ip netns exec`, so the
// command also gets a private mount namespace) and returns its stdout and
// stderr. Without a deadline on ctx it is bounded by DefaultExecTimeout; on
// timeout or cancellation the whole process group is killed. A non-nil error
// includes the command line and both outputs.
func (tp *Topology) Exec(ctx context.Context, ns string, name string, args ...string) (stdout, stderr string, err error) {
	if err := tp.checkNS(ns); err != nil {
		return "", "", err
	}
	stdout, stderr, err = run(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	if err != nil {
		err = fmt.Errorf("testbed: %w", err)
	}
	return stdout, stderr, err
}

// Command returns a prepared command that runs name with args in namespace
// ns, in its own process group, killed as a group when ctx ends. Use it when
// Exec is not enough (stdin, streaming output, timing); the caller runs and
// waits for it.
func (tp *Topology) Command(ctx context.Context, ns string, name string, args ...string) (*exec.Cmd, error) {
	if err := tp.checkNS(ns); err != nil {
		return nil, err
	}
	return command(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...), nil
}

// checkNS makes sure ns is one of the topology's namespaces, so a typo can
// never run a command in the root namespace.
func (tp *Topology) checkNS(ns string) error {
	for _, n := range tp.Namespaces() {
		if ns == n {
			return nil
		}
	}
	return fmt.Errorf("testbed: %q is not a namespace of this topology", ns)
}

// command builds an exec.Cmd in its own process group that is killed as a
// group when ctx ends.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a command to completion, bounded by ctx or DefaultExecTimeout.
func run(ctx context.Context, name string, args ...string) (string, string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultExecTimeout)
		defer cancel()
	}
	cmd := command(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		err = fmt.Errorf("%s: %w\nstdout: %s\nstderr: %s",
			strings.Join(cmd.Args, " "), err, clip(stdout.String()), clip(stderr.String()))
	}
	return stdout.String(), stderr.String(), err
}

// clip shortens s for an error message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxErrOutput {
		return s[:maxErrOutput] + "…"
	}
	return s
}
