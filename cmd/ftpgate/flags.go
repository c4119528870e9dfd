package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/control"
	"github.com/ftpgate/ftpgate/ftp"
	"github.com/ftpgate/ftpgate/nft"
)

// options are the settings of `ftpgate run` and `ftpgate rules`.
type options struct {
	nft nft.Config
	ftp ftp.Config
	// limits bound the sessions; MaxSessions 0 is sized to the descriptor limit at start.
	limits ftp.Limits
	// tableCheck is how often the nftables table is checked; onTableLoss is what a loss
	// does: "restore" (rebuild it) or "exit".
	tableCheck  time.Duration
	onTableLoss string
	// statsInterval is how often a stats line is logged (0: never).
	statsInterval time.Duration
	// stopGrace is how long running transfers may go on after SIGTERM (-stop-grace).
	stopGrace time.Duration
	// auditLog is the audit log's path ("-": standard output; "": none).
	auditLog string
	// parkAfter is how long a session's leg stays quiet before its loop leaves its
	// goroutine (0: never).
	parkAfter time.Duration
	// kernelPath enables the kernel data path (policies choose it with data_path).
	kernelPath bool
	routeTable int
	// manageTable: ftpgate builds and deletes its nftables table and policy routing; false:
	// the operator's rule set defines them (deploy/ftpgate.nft) and ftpgate only checks them
	// and adds and deletes set elements. A flag, not YAML: the table comes before the
	// configuration is read.
	manageTable bool
	// implicit are the control ports of implicit FTPS.
	implicit []uint16
	// portMin and portMax bound the data ports ftpgate announces itself.
	portMin, portMax uint16
	logLevel         string
	logFormat        string
	// metricsAddr is where /metrics is served ("": nowhere); metricsLn is its listener
	// once bound (openMetrics).
	metricsAddr string
	metricsLn   net.Listener
	// configPath is the configuration file; configSet says -c was given.
	configPath string
	configSet  bool
	// controlSocket is the control socket's path ("": none).
	controlSocket string
}

// portList is a flag holding comma-separated TCP ports.
type portList []uint16

func (p *portList) String() string {
	s := make([]string, len(*p))
	for i, v := range *p {
		s[i] = strconv.Itoa(int(v))
	}
	return strings.Join(s, ",")
}

func (p *portList) Set(v string) error {
	var out []uint16
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("invalid port %q", f)
		}
		out = append(out, uint16(n))
	}
	*p = out
	return nil
}

// parseOptions parses the flags of run and rules; defaults work on a gateway with no flag.
func parseOptions(name string, args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ftpgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	r := defineFlags(fs, &o)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	fs.Visit(func(f *flag.Flag) { o.configSet = o.configSet || f.Name == "c" })
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := r.checkListeners(); err != nil {
		return o, err
	}
	if err := r.checkLimits(&o); err != nil {
		return o, err
	}
	if err := checkTimeouts(&o); err != nil {
		return o, err
	}
	if err := checkMetricsAddr(&o); err != nil {
		return o, err
	}
	r.apply(&o)
	return o, nil
}

// rawFlags are the flag values that are checked and converted into options after parsing,
// rather than parsed into them directly.
type rawFlags struct {
	ports, implicit  portList
	ctl, data, mark  *uint
	markMask         *uint
	queue            *uint
	portMin, portMax *uint
}

// defineFlags defines the flags of run and rules on fs: those with no further check parse
// into o directly, the others into the returned rawFlags.
func defineFlags(fs *flag.FlagSet, o *options) *rawFlags {
	r := &rawFlags{ports: portList{nft.DefaultControlPort}, implicit: portList{990}}
	fs.Var(&r.ports, "control-ports", "comma-separated TCP ports intercepted as FTP control")
	fs.Var(&r.implicit, "implicit-ports", "control ports that carry implicit FTPS (TLS from the first byte); intercepted only if also in -control-ports")
	r.ctl = fs.Uint("control-listen", nft.DefaultControlListen, "local port of the transparent control listener")
	r.data = fs.Uint("data-listen", nft.DefaultDataListen, "local port of the transparent data listener")
	fs.StringVar(&o.nft.Table, "table", nft.DefaultTable, "name of the nftables inet table ftpgate owns")
	r.mark = fs.Uint("mark", nft.DefaultMark, "packet mark steering intercepted packets to the local route table (must lie inside -mark-mask)")
	r.markMask = fs.Uint("mark-mask", nft.DefaultMarkMask, "bits of the packet mark ftpgate owns: the rules set `meta mark & ~MASK | MARK` and the policy rule matches fwmark MARK/MASK")
	fs.IntVar(&o.routeTable, "route-table", 100, "policy routing table for marked packets")
	fs.BoolVar(&o.manageTable, "manage-table", true, "build and delete the nftables table and the policy routing; false: the operator's rule set defines them (deploy/ftpgate.nft), ftpgate checks them at start and adds and removes only set elements")
	r.queue = fs.Uint("queue", nft.DefaultQueue, "first of the two NFQUEUE queues of packet filters (policies' packet_filter:): this one for queue_bypass: true, the next for false; 0: no packet filter")
	fs.DurationVar(&o.nft.Timeout, "expect-timeout", nft.DefaultTimeout, "lifetime of an unused data channel expectation")
	r.portMin = fs.Uint("data-port-min", 40000, "lowest data port ftpgate announces itself (translated modes, the box's own address)")
	r.portMax = fs.Uint("data-port-max", 41000, "highest data port ftpgate announces itself")
	fs.BoolVar(&o.ftp.Spoof, "spoof", true, "connect to servers from the client's own address (false: from the box's own address)")
	fs.DurationVar(&o.ftp.ConnectTimeout, "connect-timeout", 10*time.Second, "timeout for connecting to a server (control and data)")
	fs.DurationVar(&o.ftp.IdleTimeout, "idle-timeout", 15*time.Minute, "close a control connection idle this long (not while a transfer runs)")
	fs.BoolVar(&o.kernelPath, "kernel-path", true, "let policies put plain data channels on the kernel path (data_path auto or kernel); false: every channel through ftpgate")
	fs.StringVar(&o.auditLog, "audit-log", "", "write the audit log (JSON lines: one per session, one per transfer) to this file, reopened on SIGHUP; - for standard output")
	fs.DurationVar(&o.parkAfter, "park-after", time.Second, "an idle session's loops give up their goroutines once its legs were quiet this long, and wait in one shared epoll (0: never)")
	fs.DurationVar(&o.statsInterval, "stats-interval", 0, "log a stats line (sessions, expectations, goroutines, open files, memory) this often (0: never)")
	fs.DurationVar(&o.tableCheck, "table-check", 2*time.Second, "how often to check that the nftables table is whole")
	fs.StringVar(&o.onTableLoss, "on-table-loss", "restore", "when the table was flushed or deleted under ftpgate: restore (rebuild it and its expectations; with -manage-table=false: log an error, wait for the operator's rule set and re-add them) or exit (status 1)")
	fs.IntVar(&o.limits.MaxSessions, "max-sessions", 0, "sessions at once in total; over it a client gets 421 (0: sized to the open-file limit)")
	fs.IntVar(&o.limits.MaxPerClient, "max-sessions-per-client", 100, "sessions at once from one client address; over it the client gets 421 (0: no limit)")
	fs.DurationVar(&o.ftp.GreetingTimeout, "greeting-timeout", 30*time.Second, "a server that sends no greeting this long after accepting: the client gets 421")
	fs.DurationVar(&o.ftp.WriteTimeout, "write-timeout", 60*time.Second, "a client that takes no reply (or a server no command) for this long: the session ends")
	fs.DurationVar(&o.stopGrace, "stop-grace", 30*time.Second, "on SIGTERM or SIGINT: no new sessions, idle ones end, and running transfers may go on this long before the rest end and the table and routing go (0: at once)")
	fs.DurationVar(&o.ftp.ReplyTimeout, "reply-timeout", 60*time.Second, "after a transfer's data connection closed, wait this long for the final reply, then end the session")
	fs.IntVar(&o.ftp.MaxLine, "max-line", 2048, "maximum length of a command or reply line")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (host:port, e.g. 127.0.0.1:9121; empty: off)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.controlSocket, "control-socket", control.DefaultPath, "unix socket for ftpgate sessions, status and reload (mode 0660, group ftpgate if it exists; \"\": none)")
	fs.StringVar(&o.configPath, "c", defaultConfigPath, "configuration file (services and policies); if the default is absent, built-in defaults apply")
	return r
}

// checkListeners checks the listener ports and the packet mark.
func (r *rawFlags) checkListeners() error {
	switch {
	case *r.ctl == 0 || *r.ctl > 65535:
		return fmt.Errorf("invalid -control-listen %d", *r.ctl)
	case *r.data == 0 || *r.data > 65535:
		return fmt.Errorf("invalid -data-listen %d", *r.data)
	case *r.ctl == *r.data:
		return fmt.Errorf("-control-listen and -data-listen must differ")
	case *r.mark == 0 || *r.mark > 0xffffffff:
		return fmt.Errorf("invalid -mark %d", *r.mark)
	case *r.markMask == 0 || *r.markMask > 0xffffffff:
		return fmt.Errorf("invalid -mark-mask %d", *r.markMask)
	case *r.mark&^*r.markMask != 0:
		return fmt.Errorf("-mark %#x has bits outside -mark-mask %#x", *r.mark, *r.markMask)
	case *r.queue > 65534:
		return fmt.Errorf("invalid -queue %d: the packet filter uses it and the next queue (0 to 65534)", *r.queue)
	}
	return nil
}

// checkTimeouts checks the session timeouts that have a lower bound.
func checkTimeouts(o *options) error {
	switch {
	case o.ftp.GreetingTimeout < time.Second:
		return fmt.Errorf("-greeting-timeout must be at least 1s")
	case o.ftp.WriteTimeout < time.Second:
		return fmt.Errorf("-write-timeout must be at least 1s")
	}
	return nil
}

// checkLimits checks the route table, the expectation timeout, the data port range, the
// line length limit, the session limits and the table guard.
func (r *rawFlags) checkLimits(o *options) error {
	switch {
	case o.routeTable <= 0 || o.routeTable >= 253:
		return fmt.Errorf("invalid -route-table %d (1..252)", o.routeTable)
	case o.nft.Timeout < time.Second:
		return fmt.Errorf("-expect-timeout must be at least 1s")
	case *r.portMin < 1024 || *r.portMax > 65535 || *r.portMin > *r.portMax:
		return fmt.Errorf("invalid data port range %d-%d (1024..65535, min <= max)", *r.portMin, *r.portMax)
	case o.ftp.MaxLine < 512:
		return fmt.Errorf("-max-line must be at least 512 (RFC 959)")
	case o.limits.MaxSessions < 0 || o.limits.MaxPerClient < 0:
		return fmt.Errorf("-max-sessions and -max-sessions-per-client must not be negative")
	case o.parkAfter < 0:
		return fmt.Errorf("-park-after must not be negative")
	case o.statsInterval < 0:
		return fmt.Errorf("-stats-interval must not be negative")
	case o.tableCheck < 100*time.Millisecond:
		return fmt.Errorf("-table-check must be at least 100ms")
	case o.onTableLoss != "restore" && o.onTableLoss != "exit":
		return fmt.Errorf("invalid -on-table-loss %q (restore or exit)", o.onTableLoss)
	}
	return nil
}

// apply stores the checked values of r in o.
func (r *rawFlags) apply(o *options) {
	o.nft.ControlPorts = r.ports
	o.implicit = r.implicit
	o.portMin, o.portMax = uint16(*r.portMin), uint16(*r.portMax)
	o.nft.ControlListen, o.nft.DataListen, o.nft.Mark = uint16(*r.ctl), uint16(*r.data), uint32(*r.mark)
	o.nft.MarkMask = uint32(*r.markMask)
	o.nft.Queue = uint16(*r.queue)
}

// newLogger builds the slog logger the flags ask for. When w is the journal's stream
// ($JOURNAL_STREAM), each line carries its syslog priority for journald.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid log level %q", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	var make func(io.Writer) slog.Handler
	switch format {
	case "text":
		make = func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, opts) }
	case "json":
		make = func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, opts) }
	default:
		return nil, fmt.Errorf("invalid log format %q (text or json)", format)
	}
	if f, ok := w.(*os.File); ok && toJournal(f) {
		return slog.New(newJournalHandler(w, make)), nil
	}
	return slog.New(make(w)), nil
}
