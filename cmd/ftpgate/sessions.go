package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ftpgate/ftpgate/control"
	"github.com/ftpgate/ftpgate/ftp"
)

// cmdSessions lists the running daemon's live sessions (`ftpgate sessions [-socket P]
// [-json]`) or ends one (`ftpgate sessions kill ID [-socket P]`).
func cmdSessions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "kill" {
		return cmdKill(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("ftpgate sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", control.DefaultPath, "control socket of the running ftpgate (its -control-socket)")
	asJSON := fs.Bool("json", false, "print the sessions as a JSON array")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ftpgate sessions [-socket PATH] [-json]\n       ftpgate sessions kill ID [-socket PATH]")
		fs.PrintDefaults()
	}
	if code, ok := parseCtlFlags(fs, args, 0); !ok {
		return code
	}
	resp, err := control.Call(ctx, *socket, control.Request{Cmd: control.CmdSessions})
	if err != nil {
		fmt.Fprintf(stderr, "ftpgate sessions: %v\n", err)
		return exitError
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(resp.Sessions)
		return exitOK
	}
	printSessions(stdout, resp.Sessions, time.Now())
	return exitOK
}

// cmdKill ends one session of the running daemon.
func cmdKill(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftpgate sessions kill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", control.DefaultPath, "control socket of the running ftpgate (its -control-socket)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ftpgate sessions kill ID [-socket PATH]")
		fs.PrintDefaults()
	}
	code, ok := parseCtlFlags(fs, args, 1)
	if !ok {
		return code
	}
	id, err := strconv.ParseUint(fs.Arg(0), 10, 64)
	if err != nil || id == 0 {
		fmt.Fprintf(stderr, "ftpgate sessions kill: invalid session id %q\n", fs.Arg(0))
		return exitUsage
	}
	resp, err := control.Call(ctx, *socket, control.Request{Cmd: control.CmdKill, ID: id})
	if err != nil {
		fmt.Fprintf(stderr, "ftpgate sessions kill: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stdout, resp.Message)
	return exitOK
}

// parseCtlFlags parses args into fs, flags before or after the positional arguments, of
// which there must be exactly n. ok false: exit with code.
func parseCtlFlags(fs *flag.FlagSet, args []string, n int) (code int, ok bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK, false
			}
			return exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != n {
		fs.Usage()
		return exitUsage, false
	}
	fs.Parse(pos) // fs.Args() are the positional arguments now
	return exitOK, true
}

// printSessions prints the sessions as a table.
func printSessions(w io.Writer, ss []ftp.SessionInfo, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tSERVER\tUSER\tSERVICE\tPOLICY\tTLS\tSTATE\tTRANSFER\tBYTES\tRATE\tSINCE")
	for _, s := range ss {
		xfer, bytes, rate, since := "-", "-", "-", s.Started
		if t := s.Transfer; t != nil {
			xfer, since = strings.TrimSpace(t.Command+" "+t.Arg), t.Started
			bytes, rate = strconv.FormatInt(t.Bytes, 10), humanRate(t.Rate)
			if t.Kernel { // conntrack's estimate, or nothing yet
				bytes, rate = "~"+bytes, "~"+rate
				if t.Bytes == 0 {
					bytes, rate = "n/a", "n/a"
				}
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Client, s.Server, orDash(s.User),
			orDash(s.Service), orDash(s.Policy), orDash(s.TLSClient), orDash(s.TLSServer), s.State, xfer, bytes, rate,
			since.Local().Format(time.DateTime))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d sessions\n", len(ss))
}

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanRate formats a rate in bytes per second.
func humanRate(r float64) string {
	switch {
	case r >= 1<<30:
		return fmt.Sprintf("%.1f GiB/s", r/(1<<30))
	case r >= 1<<20:
		return fmt.Sprintf("%.1f MiB/s", r/(1<<20))
	case r >= 1<<10:
		return fmt.Sprintf("%.1f KiB/s", r/(1<<10))
	}
	return fmt.Sprintf("%.0f B/s", r)
}
