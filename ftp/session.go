package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/intercept"
	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"

	"golang.org/x/sys/unix"
)

// Session relays one FTP control connection between a client and the server it meant to reach,
// checks every address the protocol carries, and opens the data channels it negotiates.
type Session struct {
	// ID identifies the session in logs and owns its data channel expectations.
	ID uint64

	cfg    Config
	log    *slog.Logger
	dialer datachan.Dialer
	dc     *datachan.Set // the session's data channels
	pol    PolicySession

	client     *net.TCPConn // the raw connections; closing them ends everything on them
	server     *net.TCPConn
	cio        net.Conn          // what the client leg reads and writes: client, or TLS over it (cw)
	sio        net.Conn          // the same for the server leg (sw)
	lr         *wire.LineReader  // the command loop's reader of cio
	rr         *wire.ReplyReader // the reply loop's reader of sio
	clientAddr netip.AddrPort
	serverAddr netip.AddrPort

	// Lock order: cw or sw before qmu; pmu alone. None is held across a wait, a TLS
	// handshake or a netlink call; cw and sw are held across the one write they order.
	cw      sync.Mutex // the client write lock: orders everything written to the client
	sw      sync.Mutex // the server write lock: orders commands queued and written to the server
	qmu     sync.Mutex // guards pending, hold, held and each transfer's wait
	pending []pendingCmd
	hold    bool          // the server leg is being upgraded to TLS: commands wait in held
	held    [][]byte      // commands to send once the upgrade is done
	room    chan struct{} // a reply was completed: the command loop may find room in pending
	pmu     sync.Mutex    // serialises the policy session: both loops consult it
	loops   loops         // the command and reply loops: running, parked, ended

	mu       sync.Mutex // guards the fields below
	typ      string     // the representation type the server accepted (TYPE), for the records
	idle     *time.Timer
	greeting *time.Timer        // ends a session whose server does not greet in time
	cancel   context.CancelFunc // ends the session
	lastLine atomic.Int64       // UnixNano of the client's last command line
	epsvAll  bool               // EPSV ALL was sent: only EPSV may set up data connections (RFC 2428)
	tls      tlsState
	aud      auditState
	upgrade  chan bool // reply loop to command loop: upgrade the client leg after AUTH (or not)
	ctl      ctlState  // for the session listing and Kill
}

// errPolicyAbort ends a session that the policy aborted.
var errPolicyAbort = errors.New("ftp: session aborted by policy")

// NewSession prepares a session for the accepted client connection whose original destination
// was server.
// pol decides on commands and answers and tracks the login; nil accepts everything.
func NewSession(id uint64, client *net.TCPConn, server netip.AddrPort, cfg Config, d datachan.Dialer, dc datachan.Expecter, pol PolicySession, log *slog.Logger) *Session {
	cfg = cfg.WithDefaults()
	ca := intercept.AddrPort(client.RemoteAddr())
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if pol == nil {
		pol = policy.Unfiltered(policy.Info{ID: id, Client: ca, Server: server})
	}
	s := &Session{
		ID:         id,
		cfg:        cfg,
		log:        log.With("session", id),
		dialer:     d,
		pol:        pol,
		client:     client,
		cio:        client,
		upgrade:    make(chan bool, 1),
		room:       make(chan struct{}, 1),
		clientAddr: ca,
		serverAddr: server,
		typ:        "A",
	}
	var path datachan.Path = datachan.Splice{}
	if cfg.Hash {
		path = datachan.Hashed{}
	}
	var insp *inspect.Settings
	if cfg.Inspect.Active() {
		ins := cfg.Inspect.WithDefaults()
		insp = &ins
	}
	var packets *datachan.PacketFilter
	if cfg.Packets.Enabled {
		packets = &datachan.PacketFilter{Settings: cfg.Packets, Queue: cfg.Queue, Digest: cfg.Hash, Session: id,
			User: func() string {
				s.pmu.Lock()
				defer s.pmu.Unlock()
				return s.pol.User()
			}}
	}
	s.dc = datachan.NewSet(datachan.Config{Owner: id, Expect: dc, Dialer: d, Ports: cfg.Ports, Path: path, Inspect: insp,
		Kernel: cfg.Kernel, PinholeTimeout: cfg.PinholeTimeout, Packets: packets,
		ConnectTimeout: cfg.ConnectTimeout, Log: s.log}, s)
	return s
}

// Serve runs the session until either side closes, the client quits, or ctx is cancelled. It
// removes the session's expectations and closes both connections before it returns.
func (s *Session) Serve(ctx context.Context) error {
	done := make(chan error, 1)
	s.Start(ctx, func(err error) { done <- err })
	return <-done
}

// Start runs the session as [Session.Serve] does, but returns at once; ended is called with
// Serve's error once the session is over. Idle, a session holds two goroutines, its command
// and reply loops, each parked at the top of its loop without a read buffer (plain legs);
// with Config.Park, a loop whose leg stayed quiet for Config.ParkAfter gives up its
// goroutine until the leg is readable.
func (s *Session) Start(ctx context.Context, ended func(error)) {
	go s.run(ctx, ended)
}

// run is the session's first goroutine: it opens the session, starts the reply loop and
// runs the command loop itself. The last loop to end closes the session (loopEnded).
func (s *Session) run(ctx context.Context, ended func(error)) {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	s.began(start, cancel)
	s.initLoops(ctx, start, ended)
	if err := s.open(ctx, cancel); err != nil {
		s.close(ctx, cancel, start, err)
		ended(err)
		return
	}
	go s.replyTask(ctx)
	s.commandTask(ctx)
}

// close ends the session: timers stopped, expectations removed, connections closed, and
// the log line.
func (s *Session) close(ctx context.Context, cancel context.CancelFunc, start time.Time, err error) {
	cancel()
	s.mu.Lock()
	timers := []*time.Timer{s.greeting, s.idle}
	s.mu.Unlock()
	for _, t := range timers {
		if t != nil {
			t.Stop()
		}
	}
	s.dc.Close(ctx)
	s.logUnfinished()
	s.stopWaits()
	s.client.Close()
	if s.server != nil {
		s.server.Close()
	}
	err = s.killedErr(err)
	attrs := []any{"duration", time.Since(start).Round(time.Millisecond).String()}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	s.log.Info("session ended", attrs...)
	s.auditSession(start, err)
}

// open connects to the server and prepares both legs (implicit TLS included); on error the
// client has been told why.
func (s *Session) open(ctx context.Context, cancel context.CancelFunc) error {
	s.log.Info("session started", "client", s.clientAddr.String(), "server", s.serverAddr.String())
	s.cancel = cancel
	s.client.SetKeepAlive(true)
	// Clients mark ABOR (and the Telnet Synch before it) as urgent data; some (Python's
	// ftplib) send the whole "ABOR\r\n" urgent. Inline, the line reader sees every byte of it.
	if rc, err := s.client.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_OOBINLINE, 1) })
	}
	src := s.serverFrom()
	dctx, dcancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	server, err := s.dialer.Dial(dctx, src, s.serverAddr)
	dcancel()
	if err != nil {
		s.writeClient(wire.NewReply(wire.CodeUnavailable, "Service not available: ftpgate cannot reach the server."))
		return fmt.Errorf("ftp: connect to server %s: %w", s.serverAddr, err)
	}
	server.SetKeepAlive(true)
	s.server, s.sio = server, server
	context.AfterFunc(ctx, func() { // close, and the end of the session, cancel ctx
		s.unpark() // a parked loop is started again, to see ctx done and end
		s.client.Close()
		server.Close()
	})
	// The greeting answers no command: a pseudo-command with an empty verb stands for it.
	s.pending = []pendingCmd{{}}
	s.mu.Lock()
	s.greeting = time.AfterFunc(s.cfg.GreetingTimeout, s.noGreeting)
	s.mu.Unlock()
	quiet := s.parkAfter()
	s.lr = wire.NewLineReader(newWaitConn(s.client, quiet), s.cfg.MaxLine)
	s.rr = wire.NewReplyReader(newWaitConn(server, quiet), s.cfg.MaxLine, s.cfg.MaxReplyLines)
	if s.cfg.TLS != nil && s.cfg.TLS.Implicit {
		if err := s.implicitTLS(ctx); err != nil {
			return err
		}
	}
	s.lastLine.Store(time.Now().UnixNano())
	s.mu.Lock()
	s.idle = time.AfterFunc(s.cfg.IdleTimeout, func() { s.idleExpired(cancel) })
	s.mu.Unlock()
	return nil
}

// noGreeting ends a session whose server accepted the connection but sent no greeting in
// time: the client gets 421 rather than waiting for the idle timeout.
func (s *Session) noGreeting() {
	s.log.Warn("the server sent no greeting; closing the session", "server", s.serverAddr.String(), "timeout", s.cfg.GreetingTimeout.String())
	s.writeClient(wire.NewReply(wire.CodeUnavailable, "Service not available: the server did not greet."))
	s.cancel()
}

// idleExpired closes the control connection when the client sent nothing for the idle
// timeout and no transfer is running; otherwise it re-arms the timer.
func (s *Session) idleExpired(cancel context.CancelFunc) {
	quiet := time.Since(time.Unix(0, s.lastLine.Load()))
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	switch {
	case s.dc.Busy():
		idle.Reset(s.cfg.IdleTimeout)
		return
	case quiet < s.cfg.IdleTimeout:
		idle.Reset(s.cfg.IdleTimeout - quiet)
		return
	}
	s.log.Info("control connection idle, closing", "idle", s.cfg.IdleTimeout.String())
	s.writeClient(wire.NewReply(wire.CodeUnavailable, "Idle timeout, closing control connection."))
	cancel()
}

// commandLoop reads the client's commands and handles each one.
func (s *Session) commandLoop(ctx context.Context) error {
	for {
		if !s.waitRoom(ctx) {
			return nil
		}
		// Parked here, shallow and without a buffer, while the client is quiet; off any
		// goroutine once it was quiet for ParkAfter.
		if err := s.lr.WaitIdle(); errors.Is(err, errQuiet) && s.park(ctx, legClient) {
			return errParked
		}
		cmd, ok, stop, err := s.nextCommand(ctx)
		switch {
		case stop:
			return err
		case !ok:
			continue
		}
		cmd, ok, abort := s.judgeCommand(ctx, cmd)
		if abort {
			return errPolicyAbort
		}
		if !ok {
			continue
		}
		if err := s.handleCommand(ctx, cmd); err != nil {
			return err
		}
	}
}

// nextCommand reads and parses the client's next command line. A line ftpgate refuses (too
// long, malformed, unparsable) is answered here and ok is false; stop says the client's
// side has ended, err why (nil for a clean end).
func (s *Session) nextCommand(ctx context.Context) (cmd wire.Command, ok, stop bool, err error) {
	line, err := s.lr.ReadLine()
	s.lastLine.Store(time.Now().UnixNano())
	switch {
	case err == nil:
		s.auditCommand("")
	case errors.Is(err, wire.ErrLineTooLong):
		s.auditCommand("")
		s.refuse("line too long", wire.NewReply(wire.CodeSyntaxError, "Command line too long."), "limit", s.cfg.MaxLine)
		return cmd, false, false, nil
	case errors.Is(err, wire.ErrNUL), errors.Is(err, wire.ErrBareCR):
		s.auditCommand("")
		s.refuse("malformed command line", wire.NewReply(wire.CodeSyntaxError, "Malformed command line."), "err", err.Error())
		return cmd, false, false, nil
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), ctx.Err() != nil:
		return cmd, false, true, nil
	default:
		return cmd, false, true, fmt.Errorf("ftp: read command: %w", err)
	}
	if line == "" { // the empty command, which the policy may permit
		return cmd, true, false, nil
	}
	if cmd, err = wire.ParseCommand(line); err != nil {
		s.refuse("unparsable command", wire.NewReply(wire.CodeSyntaxError, "Syntax error, command unrecognized."), "err", err.Error())
		return cmd, false, false, nil
	}
	s.auditVerb(cmd.Verb)
	return cmd, true, false, nil
}

// replyLoop reads the server's replies and handles each one.
func (s *Session) replyLoop(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		// Parked here, shallow and without a buffer, while the server is quiet; off any
		// goroutine once it was quiet for ParkAfter.
		if err := s.rr.WaitIdle(); errors.Is(err, errQuiet) && s.park(ctx, legServer) {
			return errParked
		}
		r, err := s.rr.ReadReply()
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), ctx.Err() != nil:
			return nil
		case errors.Is(err, wire.ErrBadReply), errors.Is(err, wire.ErrTooManyLines), errors.Is(err, wire.ErrLineTooLong),
			errors.Is(err, wire.ErrNUL), errors.Is(err, wire.ErrBareCR):
			s.log.Warn("invalid reply from server, closing session", "err", err.Error())
			s.writeClient(wire.NewReply(wire.CodeUnavailable, "Invalid reply from server, closing control connection."))
			return fmt.Errorf("ftp: read reply: %w", err)
		default:
			return fmt.Errorf("ftp: read reply: %w", err)
		}
		if done := s.handleReply(ctx, r); done {
			return nil
		}
	}
}
