package inspect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exec is a hook that runs a command per object, the object on its standard input (the
// spool's file itself once it went to disk, so `clamdscan --fdpass -` passes the descriptor
// on). Its exit status decides: 0 allows, 1 refuses (clamscan's and clamdscan's "found"),
// anything else, a signal or the timeout is a failure, which the failure policy decides.
// The command's output (at most 4 KiB kept) is the verdict's reason: the first line naming
// a signature ("…: NAME FOUND") when there is one. The object's metadata is in its
// environment: FTPGATE_SESSION, FTPGATE_COMMAND, FTPGATE_ARG, FTPGATE_USER, FTPGATE_CLIENT,
// FTPGATE_SERVER, FTPGATE_DIRECTION, FTPGATE_REST, FTPGATE_TYPE, FTPGATE_SIZE,
// FTPGATE_SHA256.
type Exec struct {
	HookName string
	Command  []string      // argv; Command[0] is looked up in PATH
	Timeout  time.Duration // 0: DefaultHookTimeout
}

// Name names the hook.
func (e *Exec) Name() string { return e.HookName }

// HookTimeout is how long the command may take.
func (e *Exec) HookTimeout() time.Duration { return e.Timeout }

// outputMax bounds the command output a verdict keeps.
const outputMax = 4 << 10

// Inspect runs the command on obj.
func (e *Exec) Inspect(ctx context.Context, obj *Object, body *Spool) (Verdict, error) {
	if len(e.Command) == 0 {
		return Verdict{}, errors.New("exec hook without a command")
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Command[0], e.Command[1:]...)
	if f := body.File(); f != nil {
		cmd.Stdin = f
	} else {
		cmd.Stdin = body.Reader()
	}
	out := &capped{max: outputMax}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), objectEnv(obj)...)
	// Its own process group, killed whole on timeout: a scanner's children go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return Verdict{}, fmt.Errorf("%s: no verdict within %s", e.HookName, timeout)
	case err == nil:
		return Verdict{Allow: true, Reason: firstLine(text)}, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return Verdict{Allow: false, Reason: finding(text)}, nil
	default:
		return Verdict{}, fmt.Errorf("%s: %w: %s", e.HookName, err, firstLine(text))
	}
}

// objectEnv is the object's metadata as environment variables.
func objectEnv(o *Object) []string {
	return []string{
		"FTPGATE_SESSION=" + strconv.FormatUint(o.Session, 10),
		"FTPGATE_COMMAND=" + o.Command,
		"FTPGATE_ARG=" + o.Arg,
		"FTPGATE_USER=" + o.User,
		"FTPGATE_CLIENT=" + o.Client.String(),
		"FTPGATE_SERVER=" + o.Server.String(),
		"FTPGATE_DIRECTION=" + o.Direction(),
		"FTPGATE_REST=" + strconv.FormatInt(o.Rest, 10),
		"FTPGATE_TYPE=" + o.Type,
		"FTPGATE_SIZE=" + strconv.FormatInt(o.Size, 10),
		"FTPGATE_SHA256=" + o.SHA256,
	}
}

// finding returns the signature a scanner's output names ("stream: Eicar-Test FOUND" →
// "Eicar-Test FOUND"), or its first line.
func finding(text string) string {
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); strings.HasSuffix(l, " FOUND") {
			if i := strings.LastIndex(l, ": "); i >= 0 {
				return l[i+2:]
			}
			return l
		}
	}
	return firstLine(text)
}

// firstLine returns text's first line.
func firstLine(text string) string {
	l, _, _ := strings.Cut(text, "\n")
	return strings.TrimSpace(l)
}

// capped is a writer that keeps the first max bytes and discards the rest.
type capped struct {
	b   []byte
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string { return string(c.b) }
