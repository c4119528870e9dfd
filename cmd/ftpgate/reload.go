package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"syscall"

	"github.com/ftpgate/ftpgate/control"
)

// reloadHelp explains how `ftpgate reload` reaches the daemon.
const reloadHelp = `usage: ftpgate reload [-socket PATH] [-pid PID] [run flags]

Makes the running ftpgate reload its configuration, in a way its caller can see fail.

When the daemon's control socket answers (-socket, else the run flag -control-socket,
default ` + control.DefaultPath + `), the daemon reloads its own configuration file and
its answer is printed: a file that fails to load exits 1 with the daemon's reason, and the
daemon keeps its running configuration. This is preferred because it is the daemon's own
verdict, with its own -c, rather than a guess made by this command.

When the socket does not answer (turned off with -control-socket "", or an older daemon),
-pid PID is used: the configuration file is loaded here exactly as the daemon would (the
same -c and checks) and, only if it loads, the daemon is sent SIGHUP. The systemd unit
runs "ftpgate reload -pid $MAINPID $FTPGATE_ARGS", which works either way.

flags:
`

// cmdReload makes a running ftpgate reload its configuration (see reloadHelp): through
// the control socket when it answers, else by checking the file and sending SIGHUP to -pid.
func cmdReload(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs, pid, socket := reloadFlags(&o)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, reloadHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	path := o.controlSocket
	if *socket != "" {
		path = *socket
	}
	if path != "" {
		resp, err := control.Call(ctx, path, control.Request{Cmd: control.CmdReload})
		switch {
		case err == nil:
			fmt.Fprintln(stdout, resp.Message)
			return exitOK
		case !errors.Is(err, control.ErrUnreachable):
			fmt.Fprintf(stderr, "ftpgate reload: %v\n", err)
			return exitError
		case *pid <= 0:
			fmt.Fprintf(stderr, "ftpgate reload: %v (is ftpgate running? -pid PID signals it instead)\n", err)
			return exitError
		}
	}
	if *pid <= 0 {
		fmt.Fprintln(stderr, "usage: ftpgate reload [-socket PATH] [-pid PID] [-c FILE] [run flags]")
		return exitUsage
	}
	return reloadBySignal(o, *pid, stdout, stderr)
}

// reloadBySignal loads the configuration file exactly as the daemon will and, only when it
// loads, sends the daemon SIGHUP. A broken or missing file exits 1 with the reason and the
// daemon is not touched.
func reloadBySignal(o options, pid int, stdout, stderr io.Writer) int {
	// A file that is gone fails too: the daemon would keep its running configuration and
	// log an error, so there is nothing to reload.
	c, err := loadConfig(o.configPath, true, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "%s; ftpgate (pid %d) keeps its running configuration\n", configError(err), pid)
		return exitError
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		fmt.Fprintf(stderr, "ftpgate reload: signal pid %d: %v\n", pid, err)
		return exitError
	}
	fmt.Fprintf(stdout, "%s: ok (%d services); sent SIGHUP to ftpgate (pid %d)\n", c.Path, len(c.Services), pid)
	return exitOK
}

// reloadFlags defines the flags of `ftpgate reload`: -pid, -socket and the run flags, so
// that ExecReload can pass $FTPGATE_ARGS as is. It returns the values of -pid and -socket.
func reloadFlags(o *options) (*flag.FlagSet, *int, *string) {
	fs := flag.NewFlagSet("ftpgate reload", flag.ContinueOnError)
	defineFlags(fs, o)
	pid := fs.Int("pid", 0, "process id of the running ftpgate (systemd: $MAINPID); used when the control socket does not answer")
	socket := fs.String("socket", "", "control socket of the running ftpgate (default: the -control-socket run flag)")
	return fs, pid, socket
}
