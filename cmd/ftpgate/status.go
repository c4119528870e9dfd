package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ftpgate/ftpgate/control"
)

// cmdStatus prints the running daemon's status (`ftpgate status [-socket P]`).
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpgate status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", control.DefaultPath, "control socket of the running ftpgate (its -control-socket)")
	if code, ok := parseCtlFlags(fs, args, 0); !ok {
		return code
	}
	resp, err := control.Call(ctx, *socket, control.Request{Cmd: control.CmdStatus})
	if err != nil {
		fmt.Fprintf(stderr, "ftpgate status: %v\n", err)
		return exitError
	}
	st := resp.Status
	if st == nil {
		fmt.Fprintln(stderr, "ftpgate status: the daemon sent no status")
		return exitError
	}
	uptime := time.Duration(st.Uptime * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(stdout, "version:     %s\n", st.Version)
	fmt.Fprintf(stdout, "uptime:      %s (since %s)\n", uptime, st.Started.Local().Format(time.DateTime))
	fmt.Fprintf(stdout, "config:      %s (%d services, loaded %s)\n", st.ConfigPath, st.Services, st.ConfigLoaded.Local().Format(time.DateTime))
	fmt.Fprintf(stdout, "sessions:    %d\n", st.Sessions)
	kp := "off"
	if st.KernelPath {
		kp = "on"
	}
	fmt.Fprintf(stdout, "kernel path: %s\n", kp)
	for i, l := range st.Listeners {
		label := ""
		if i == 0 {
			label = "listeners:"
		}
		fmt.Fprintf(stdout, "%-12s %s\n", label, l)
	}
	return exitOK
}
