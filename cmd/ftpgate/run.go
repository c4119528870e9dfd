package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/sdnotify"

	"github.com/ftpgate/ftpgate/audit"
	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/ftp"
	"github.com/ftpgate/ftpgate/intercept"
	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/park"
	"golang.org/x/sys/unix"
)

// cmdRun runs the gateway until SIGTERM/SIGINT, then removes everything it installed.
// hup delivers SIGHUPs (nil: cmdRun catches them itself once it serves).
func cmdRun(ctx context.Context, args []string, stderr io.Writer, hup <-chan os.Signal) int {
	o, err := parseOptions("run", args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "ftpgate run: %v\n", err)
		return exitUsage
	}
	log, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "ftpgate run: %v\n", err)
		return exitUsage
	}
	startErr := starter{json: o.logFormat == "json", log: log, stderr: stderr}.fail
	notify, err := sdnotify.FromEnv()
	if err != nil {
		log.Warn("systemd notification off", "err", err.Error())
	}
	o.nft = o.nft.WithDefaults()
	live, err := newLive(&o, hup, log)
	if err != nil {
		return startErr(exitUsage, "%v", err)
	}
	defer live.close()
	live.notify = notify
	cfg := live.cur.Load()

	inst, err := preflight(ctx, &o, log)
	if err != nil {
		return startErr(exitEnv, "%v", err)
	}
	log.Info("configuration loaded", "path", describePath(cfg), "services", len(cfg.Services))
	// The listeners come before the table: a second ftpgate started by mistake fails here
	// (port in use) instead of replacing the running one's table.
	lns, err := openListeners(ctx, &o, log)
	if err != nil {
		return startErr(exitError, "ftpgate: %v", err)
	}
	defer lns.close()
	defer closeMetrics(&o)
	removeTable, err := installTable(ctx, &o, inst, log)
	if err != nil {
		return startErr(exitEnv, "%v", err)
	}
	cleanup := context.WithoutCancel(ctx)
	defer removeTable(cleanup)
	o.ftp.Kernel = setupKernelPath(ctx, o.kernelPath, log)
	defer teardownKernelPath(cleanup, o.ftp.Kernel, log)
	o.ftp.PinholeTimeout = o.nft.Timeout
	if o.ftp.Queue = startPacketQueue(ctx, &o, inst, log); o.ftp.Queue != nil {
		defer o.ftp.Queue.Close()
	}
	live.haveQueue = o.ftp.Queue != nil
	if err := checkPacketFilters(cfg, live.haveQueue); err != nil {
		return startErr(exitUsage, "%s", configError(err))
	}
	if err := serve(ctx, o, live, lns, inst, log); err != nil {
		log.Error("ftpgate stopped", "err", err.Error())
		return exitError
	}
	log.Info("ftpgate stopped")
	return exitOK
}

// serve runs the control and data servers on their listeners, and the control socket,
// until ctx ends.
func serve(ctx context.Context, o options, live *liveConfig, lns listeners, inst nft.Installer, log *slog.Logger) error {
	started := time.Now()
	ctlLns, dataLns := lns.ctl, lns.data
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go live.watchReload(ctx)
	inst = o.ftp.Metrics.Installer(inst) // counts the netlink errors (nil: inst itself)
	reg := datachan.NewRegistry(inst, o.nft.Timeout, log)
	reg.SetMetrics(o.ftp.Metrics)
	limits := sessionLimits(o.limits, log)
	// Two listening legs at most per session (data_mode active): the kernel's sets stay bounded.
	reg.SetLimit(2 * limits.MaxSessions)
	ports, err := datachan.NewPorts(o.portMin, o.portMax)
	if err != nil {
		return err
	}
	o.ftp.Ports = ports
	if o.parkAfter > 0 {
		p, err := park.New()
		if err != nil {
			log.Warn("idle sessions keep their goroutines", "err", err.Error())
		} else {
			defer p.Close() // after the sessions have ended (csrv.Wait below)
			o.ftp.Park, o.ftp.ParkAfter = p, o.parkAfter
		}
	}
	o.ftp.BoxSource = func(server netip.Addr) (netip.Addr, error) { return intercept.SourceFor(nil, server) }
	dsrv := &datachan.Server{Registry: reg, Log: log}
	csrv := &ftp.Server{
		Config:        o.ftp,
		Dialer:        &intercept.Dialer{Timeout: o.ftp.ConnectTimeout},
		Data:          reg,
		Log:           log,
		IsLocal:       isLocal,
		Policies:      live.policyFor,
		ImplicitPorts: o.implicit,
		Limits:        limits,
	}
	// The sessions, their data listener and the table's guard outlive the control
	// listeners: at a stop, running transfers get -stop-grace to finish (drain).
	sessCtx, endSessions := context.WithCancel(context.WithoutCancel(ctx))
	defer endSessions()
	csrv.SessionContext = sessCtx
	var (
		wg   sync.WaitGroup
		once sync.Once
		ferr error
	)
	fail := func(err error) {
		once.Do(func() { ferr = err })
		cancel()
	}
	for _, ln := range ctlLns {
		wg.Go(func() {
			if err := csrv.Serve(ctx, ln); err != nil {
				fail(fmt.Errorf("control listener %s: %w", ln.Addr(), err))
			}
		})
	}
	for _, ln := range dataLns {
		wg.Go(func() {
			if err := dsrv.Serve(sessCtx, ln); err != nil {
				fail(fmt.Errorf("data listener %s: %w", ln.Addr(), err))
			}
		})
	}
	if o.statsInterval > 0 {
		wg.Go(func() {
			logStats(ctx, o.statsInterval, statsSource{sessions: csrv.Sessions, expectations: reg.Len}, log)
		})
	}
	d := &daemon{started: started, sessions: csrv, live: live, kernel: o.ftp.Kernel != nil, log: log,
		listeners: listenerNames(o, ctlLns, dataLns, o.controlSocket)}
	wg.Go(func() { serveControl(ctx, lns.socket, d) })
	wg.Go(func() { serveMetrics(ctx, o, log, fail) })
	// The operator's table (-manage-table=false) is not ftpgate's to rebuild: "restore" waits
	// for the operator's rule set and re-adds the expectations.
	restore := o.onTableLoss == "restore"
	guard := &datachan.Guard{Installer: inst, Registry: reg, Interval: o.tableCheck,
		Restore: restore && o.manageTable, Wait: restore && !o.manageTable, Log: log, Nudge: watchTable(sessCtx, o.nft, log)}
	wg.Go(func() {
		if err := guard.Run(sessCtx); err != nil {
			fail(err)
		}
	})
	// Ready: the table, the routing and every listener are up (systemd's Type=notify).
	live.notifyState(sdnotify.Ready, sdnotify.Status(fmt.Sprintf("serving: control ports %v, %d sessions at most", o.nft.ControlPorts, limits.MaxSessions)))
	log.Info("ftpgate running", "version", versionString(), "control_ports", o.nft.ControlPorts,
		"control_listen", o.nft.ControlListen, "data_listen", o.nft.DataListen, "table", o.nft.Table, "spoof", o.ftp.Spoof)
	<-ctx.Done()
	drain(csrv, o.stopGrace, live, log)
	endSessions()
	wg.Wait()
	csrv.Wait()
	dsrv.Wait()
	return ferr
}

// newLive loads the configuration and opens the audit log (-audit-log), which o's
// sessions then write to; the error is the line to print.
func newLive(o *options, hup <-chan os.Signal, log *slog.Logger) (*liveConfig, error) {
	cfg, err := loadConfig(o.configPath, o.configSet, log)
	if err != nil {
		return nil, errors.New(configError(err))
	}
	live := &liveConfig{path: o.configPath, explicit: o.configSet, log: log, hup: hup}
	live.cur.Store(cfg)
	live.loaded.Store(time.Now().UnixNano())
	if o.auditLog != "" {
		al, err := audit.Open(o.auditLog, log)
		if err != nil {
			return nil, fmt.Errorf("ftpgate: %w", err)
		}
		live.audit, o.ftp.Audit = al, al
	}
	return live, nil
}

// setupKernelPath prepares the kernel data path (kpath): conntrack expectations under
// masters with the "ftp" helper. A kernel without them leaves every data channel in ftpgate,
// with a warning; nothing else changes.
func setupKernelPath(ctx context.Context, enabled bool, log *slog.Logger) kpath.Kernel {
	if !enabled {
		log.Info("kernel data path off (-kernel-path=false): every data channel goes through ftpgate")
		return nil
	}
	k := kpath.NewConntrack(kpath.Config{Log: log})
	if err := k.Setup(ctx); err != nil {
		log.Warn("kernel data path unavailable; every data channel goes through ftpgate", "err", err.Error())
		return nil
	}
	log.Info("kernel data path ready: plain data channels pass the forward path as related connections",
		"ct_mark", fmt.Sprintf("%#x/%#x", kpath.DefaultMark, kpath.DefaultMask))
	return k
}

// teardownKernelPath removes the kernel path's pinholes (k may be nil).
func teardownKernelPath(ctx context.Context, k kpath.Kernel, log *slog.Logger) {
	if k == nil {
		return
	}
	if err := k.Teardown(ctx); err != nil {
		log.Error("remove the kernel data path's pinholes", "err", err.Error())
	}
}

// listenBoth opens the transparent IPv4 and IPv6 listeners on port. A box without IPv6 gets a
// warning and IPv4 only.
func listenBoth(ctx context.Context, port uint16, log *slog.Logger) ([]*net.TCPListener, error) {
	p := strconv.Itoa(int(port))
	ln4, err := intercept.Listen(ctx, "tcp4", "0.0.0.0:"+p)
	if err != nil {
		return nil, fmt.Errorf("listen on port %s (IPv4): %w", p, err)
	}
	ln6, err := intercept.Listen(ctx, "tcp6", "[::]:"+p)
	if err != nil {
		log.Warn("no IPv6 listener; serving IPv4 only", "port", port, "err", err.Error())
		return []*net.TCPListener{ln4}, nil
	}
	return []*net.TCPListener{ln4, ln6}, nil
}

func closeAll(lns []*net.TCPListener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// isLocal reports whether a is one of this box's own addresses.
func isLocal(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a.Unmap() {
				return true
			}
		}
	}
	return a.IsLoopback()
}

// descriptorsPerSession is what one session may hold open at once: the client and server
// control connections, and two data legs with room for a connection being refused.
const descriptorsPerSession = 6

// reservedDescriptors are kept for the listeners, netlink sockets, logs and the runtime.
const reservedDescriptors = 256

// sessionLimits fills in a MaxSessions of 0 from the open-file limit, so that ftpgate refuses
// sessions with 421 before it runs out of descriptors. The Go runtime has already raised the
// soft limit to the hard one when the process started.
func sessionLimits(l ftp.Limits, log *slog.Logger) ftp.Limits {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		log.Warn("cannot read the open-file limit", "err", err.Error())
	}
	if l.MaxSessions == 0 {
		l.MaxSessions = max(16, (int(min(rl.Cur, 1<<24))-reservedDescriptors)/descriptorsPerSession)
	}
	log.Info("session limits", "max_sessions", l.MaxSessions, "max_sessions_per_client", l.MaxPerClient, "open_files", rl.Cur)
	return l
}

// starter reports start-up errors once the logger exists: log records under -log-format
// json, plain lines otherwise (what systemd shows either way).
type starter struct {
	json   bool
	log    *slog.Logger
	stderr io.Writer
}

// fail reports the error and returns the exit status code.
func (s starter) fail(code int, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	if s.json {
		s.log.Error("ftpgate cannot start", "err", strings.TrimPrefix(msg, "ftpgate: "), "exit_status", code)
	} else {
		fmt.Fprintln(s.stderr, msg)
	}
	return code
}

// preflight checks privileges and kernel support, and opens the nftables connection
// (newInstaller: with -manage-table=false it checks the operator's rule set): nothing is
// changed until they are known good.
func preflight(ctx context.Context, o *options, log *slog.Logger) (nft.Installer, error) {
	if err := intercept.CheckPrivileges(); err != nil {
		return nil, fmt.Errorf("ftpgate: %w", err)
	}
	if err := nft.Probe(ctx); err != nil {
		return nil, fmt.Errorf("ftpgate: %w", err)
	}
	return newInstaller(ctx, o, log)
}

// drain is the first step of a stop, once no new session is accepted: sessions end as they
// fall idle, and those running a transfer get up to grace to finish it. Then the caller
// ends the rest.
func drain(csrv *ftp.Server, grace time.Duration, live *liveConfig, log *slog.Logger) {
	live.notifyState(sdnotify.Stopping, sdnotify.Status(fmt.Sprintf("stopping: no new sessions; running transfers have up to %s", grace)))
	log.Info("ftpgate stopping: no new sessions; running transfers may finish", "stop_grace", grace.String(), "sessions", csrv.Sessions())
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if busy := csrv.Drain(ctx); busy > 0 {
		log.Warn("stop grace over: ending sessions with transfers still running", "transfers", busy, "stop_grace", grace.String())
		return
	}
	log.Info("every session has ended")
}
