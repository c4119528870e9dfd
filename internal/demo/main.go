package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// Exit codes.
const (
	exitPass  = 0   // demo passed, or the benchmark ran
	exitFail  = 1   // something did not work
	exitUsage = 2   // cannot run here: not root, tools missing, bad flags
	exitIntr  = 130 // interrupted (Ctrl-C)
)

// tools are the programs the demo runs; `make deps` installs them.
var tools = []string{"ip", "nft", "vsftpd", "curl"}

// config is what the flags select.
type config struct {
	bin   string // the ftpgate binary
	bench bool   // run the benchmark instead of the demo
	size  int64  // benchmark file size in bytes
	runs  int    // benchmark runs per path
	keep  bool   // keep the temporary directory (logs) for debugging
	chart string // where the benchmark writes its PNG chart
	// sessions are the idle-session counts of the benchmark's memory columns, ascending.
	sessions []int
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

// run parses the flags, checks that the demo can run here, and runs the demo or the benchmark
// until it ends or SIGINT/SIGTERM arrives. It returns the exit code.
func run(args []string, w io.Writer) int {
	var c config
	var sizeMiB int
	var sessions string
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", "bin/ftpgate", "the ftpgate binary to run in the gateway namespace")
	fs.BoolVar(&c.bench, "bench", false, "compare ftpgate with forwarding, the conntrack helper and FTPS paths (throughput, latency, logins, CPU, memory)")
	fs.IntVar(&sizeMiB, "size", 1024, "benchmark file size in MiB")
	fs.IntVar(&c.runs, "runs", 3, "benchmark runs per path (the median is reported)")
	fs.StringVar(&c.chart, "chart", "bench.png", "benchmark: PNG bar chart of the throughput ratios")
	fs.StringVar(&sessions, "sessions", "1000,10000", "benchmark: idle-session counts for ftpgate's memory per session, ascending (\"\" for none)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory with configs and logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitUsage
	}
	if sizeMiB < 1 || sizeMiB > 4096 || c.runs < 1 || c.runs > 20 {
		fmt.Fprintln(w, "demo: -size must be 1..4096 (MiB) and -runs 1..20")
		return exitUsage
	}
	var err error
	if c.sessions, err = parseSessions(sessions); err != nil {
		fmt.Fprintln(w, "demo: -sessions:", err)
		return exitUsage
	}
	c.size = int64(sizeMiB) << 20
	name := "demo"
	if c.bench {
		name = "bench"
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(w, "%s: needs root (network namespaces, nftables, TPROXY); run it as root, e.g. sudo make %s\n", name, name)
		return exitUsage
	}
	if err := preflight(&c); err != nil {
		fmt.Fprintf(w, "%s: %v\n", name, err)
		return exitUsage
	}
	// Orphans of the daemons we start come back to us to be reaped (PID 1 may not reap).
	if err := testbed.Subreaper(); err != nil {
		fmt.Fprintf(w, "%s: %v\n", name, err)
		return exitFail
	}
	// Later signals stay caught too, so a second Ctrl-C cannot interrupt the cleanup.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	p := newPrinter(w)
	if c.bench {
		err = runBench(ctx, p, c)
	} else {
		err = runDemo(ctx, p, c)
	}
	switch {
	case err == nil:
		return exitPass
	case ctx.Err() != nil:
		fmt.Fprintf(w, "%s: INTERRUPTED — everything it created has been removed\n", name)
		return exitIntr
	default:
		return exitFail // the demo or bench printed why
	}
}

// preflight checks the binary and the tools, and makes the binary path absolute (it runs in
// another namespace, but the same file system).
func preflight(c *config) error {
	abs, err := filepath.Abs(c.bin)
	if err != nil {
		return fmt.Errorf("ftpgate binary: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("no ftpgate binary at %s (run make build, or pass -bin)", abs)
	}
	c.bin = abs
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %v (run make deps as root)", missing)
	}
	return nil
}

// maxIdleSessions bounds -sessions.
const maxIdleSessions = 100000

// parseSessions parses -sessions: comma-separated ascending counts of 1..maxIdleSessions,
// or nothing.
func parseSessions(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > maxIdleSessions {
			return nil, fmt.Errorf("%q is not a count of 1..%d", f, maxIdleSessions)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("counts must ascend: %s", s)
		}
		out = append(out, n)
	}
	return out, nil
}
