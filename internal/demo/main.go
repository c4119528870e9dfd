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
	// rows and measure are the benchmark's rows and measurements (-rows, -measure).
	rows    rowSet
	measure measureSet
	// mirrorFiles is the number of 1-KiB files of the small-file mirror.
	mirrorFiles int
}

// maxMirrorFiles bounds -mirror-files.
const maxMirrorFiles = 100000

// main runs the demo or the benchmark with the command line's flags.
func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

// run parses the flags, checks that the demo can run here, and runs the demo or the benchmark
// until it ends or SIGINT/SIGTERM arrives. It returns the exit code.
func run(args []string, w io.Writer) int {
	if len(args) == 2 && args[0] == relayFlag { // the relay row's process, started by the bench
		return relayFloor(args[1], w)
	}
	c, code := parseFlags(args, w)
	if code >= 0 {
		return code
	}
	var err error
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

// parseFlags parses args into a config. It returns an exit code when run should end here
// (help, bad flags), -1 to go on.
func parseFlags(args []string, w io.Writer) (config, int) {
	var c config
	var sizeMiB int
	var sessions, rows, measure string
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", "bin/ftpgate", "the ftpgate binary to run in the gateway namespace")
	fs.BoolVar(&c.bench, "bench", false, "compare ftpgate with forwarding, the conntrack helper, FTPS paths and inspection hooks (throughput, latency, logins, small files, PASV set-ups, CPU, memory)")
	fs.IntVar(&sizeMiB, "size", 1024, "benchmark file size in MiB")
	fs.IntVar(&c.runs, "runs", 3, "benchmark runs per path (the median is reported)")
	fs.StringVar(&c.chart, "chart", "bench.png", "benchmark: PNG bar chart of the throughput ratios")
	fs.StringVar(&sessions, "sessions", "1000,10000", "benchmark: idle-session counts for ftpgate's memory per session, ascending (\"\" for none)")
	fs.StringVar(&rows, "rows", "all", "benchmark: rows to measure, comma-separated, of "+strings.Join(rowKeys(), ","))
	fs.StringVar(&measure, "measure", "all", "benchmark: measurements, comma-separated, of "+strings.Join(measureKeys[:], ",")+
		" (transfer: RETR/STOR and CPU; setups: PASV/s); the others print –")
	fs.IntVar(&c.mirrorFiles, "mirror-files", 10000, "benchmark: 1-KiB files of the small-file mirror (0: not measured)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory with configs and logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, exitPass
		}
		return c, exitUsage
	}
	if sizeMiB < 1 || sizeMiB > 4096 || c.runs < 1 || c.runs > 20 || c.mirrorFiles < 0 || c.mirrorFiles > maxMirrorFiles {
		fmt.Fprintf(w, "demo: -size must be 1..4096 (MiB), -runs 1..20 and -mirror-files 0..%d\n", maxMirrorFiles)
		return c, exitUsage
	}
	c.size = int64(sizeMiB) << 20
	var errs []error
	var err error
	c.sessions, err = parseSessions(sessions)
	errs = append(errs, wrapFlag("-sessions", err))
	c.rows, err = parseRows(rows)
	errs = append(errs, err)
	c.measure, err = parseMeasures(measure)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(w, "demo:", err)
		return c, exitUsage
	}
	c.measure[measMirror] = c.measure[measMirror] && c.mirrorFiles > 0
	c.measure[measRSS] = c.measure[measRSS] && len(c.sessions) > 0
	return c, -1
}

// wrapFlag prefixes err with the flag's name; nil stays nil.
func wrapFlag(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
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
	need := tools
	if c.bench && c.measure[measMirror] {
		need = append(need[:len(need):len(need)], "lftp")
	}
	for _, t := range need {
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
