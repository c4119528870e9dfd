package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"syscall"
)

// cmdReload makes a running ftpgate reload its configuration in a way its caller can see
// fail: `ftpgate reload -pid PID [run flags]` loads the configuration file exactly as the
// daemon will (the same -c and the same checks) and, only when it loads, sends the daemon
// SIGHUP. A broken or missing file exits 1 with the reason and the daemon is not touched.
// The unit file's ExecReload runs it, so `systemctl reload ftpgate` fails visibly.
func cmdReload(args []string, stdout, stderr io.Writer) int {
	var o options
	fs, pid := reloadFlags(&o)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *pid <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: ftpgate reload -pid PID [-c FILE] [run flags]")
		return exitUsage
	}
	// A file that is gone fails too: the daemon would keep its running configuration and
	// log an error, so there is nothing to reload.
	c, err := loadConfig(o.configPath, true, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "%s; ftpgate (pid %d) keeps its running configuration\n", configError(err), *pid)
		return exitError
	}
	if err := syscall.Kill(*pid, syscall.SIGHUP); err != nil {
		fmt.Fprintf(stderr, "ftpgate reload: signal pid %d: %v\n", *pid, err)
		return exitError
	}
	fmt.Fprintf(stdout, "%s: ok (%d services); sent SIGHUP to ftpgate (pid %d)\n", c.Path, len(c.Services), *pid)
	return exitOK
}

// reloadFlags defines the flags of `ftpgate reload`: -pid and the run flags, so that
// ExecReload can pass $FTPGATE_ARGS as is. It returns the value of -pid.
func reloadFlags(o *options) (*flag.FlagSet, *int) {
	fs := flag.NewFlagSet("ftpgate reload", flag.ContinueOnError)
	defineFlags(fs, o)
	return fs, fs.Int("pid", 0, "process id of the running ftpgate (systemd: $MAINPID)")
}
