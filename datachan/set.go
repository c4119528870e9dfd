package datachan

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/kpath"
)

// Config is what the data channels of one session share.
type Config struct {
	// Owner identifies the session; the registry owner of a leg's expectation is
	// Owner<<1|side, so a session may wait for two connections at once.
	Owner uint64
	// Expect admits the connections of listening legs (the [Registry]).
	Expect Expecter
	// Dialer connects the connecting legs.
	Dialer Dialer
	// Ports hands out the ports ftpgate announces itself; nil when no range is configured.
	Ports PortAllocator
	// ConnectTimeout bounds a leg's connect and TLS handshake.
	ConnectTimeout time.Duration
	// Path is how bytes move when a channel names none (nil: [Splice]).
	Path Path
	// Inspect, when set and active, puts the transfers of the channels through ftpgate
	// through its hooks (observe or inspect mode, per direction).
	Inspect *inspect.Settings
	// Kernel opens the pinholes of kernel-path channels (nil: no kernel path).
	Kernel kpath.Kernel
	// PinholeTimeout is how long a kernel path pinhole waits for its connection.
	PinholeTimeout time.Duration
	// Packets, when set and enabled, puts the kernel path's channels under the packet
	// filter.
	Packets *PacketFilter
	// Log receives the channels' log lines.
	Log *slog.Logger
}

// Spec describes a channel to open.
type Spec struct {
	Client, Server Leg
	// Ports were reserved for the channel (Set.Reserve); they are released when it closes.
	Ports []uint16
	// Path is how the channel's bytes move; nil: the Set's default.
	Path Path
	// Kernel, when set, puts the channel on the kernel path: one pinhole, no legs in
	// ftpgate (Client and Server are ignored). Config.Kernel must be set.
	Kernel *KernelSpec
	// Command is the FTP command that opened the channel (PASV, EPSV, PORT, EPRT); with the
	// session it makes the comment of the listening legs' set elements, "session 12 PASV".
	Command string
}

// Set holds the data channels of one session: the one the last PASV/PORT negotiated and
// the one the transfer in progress uses. It runs the channels' goroutines and waits for
// them when the session ends. Safe for concurrent use.
type Set struct {
	cfg  Config
	peer Peer
	log  *slog.Logger

	mu      sync.Mutex
	cur     *Channel // negotiated, not yet used by a transfer
	active  *Channel // used by the transfer in progress
	running int      // goroutines of connects and paths; they keep the session busy
	closed  bool
	wg      sync.WaitGroup
}

// NewSet returns the data channel set of one session; peer is the session.
func NewSet(cfg Config, peer Peer) *Set {
	if cfg.Path == nil {
		cfg.Path = Splice{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Set{cfg: cfg, peer: peer, log: cfg.Log}
}

// owner is the registry owner of a leg's expectation.
func (s *Set) owner(sd Side) uint64 { return s.cfg.Owner<<1 | uint64(sd) }

// Reserve takes n ports from the allocator, all or none.
func (s *Set) Reserve(n int) ([]uint16, error) {
	if s.cfg.Ports == nil {
		return nil, fmt.Errorf("datachan: no data port range configured")
	}
	var ports []uint16
	for range n {
		p, err := s.cfg.Ports.Reserve()
		if err != nil {
			for _, q := range ports {
				s.cfg.Ports.Release(q)
			}
			return nil, fmt.Errorf("datachan: reserve data port: %w", err)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// comment is the comment of the set element of leg sd: the leg's own, or "session 12 PASV"
// for the client leg and "session 12 PORT server leg" for the server leg.
func (s *Set) comment(sp Spec, sd Side) string {
	leg := sp.Client
	if sd == ServerLeg {
		leg = sp.Server
	}
	if leg.Expect.Comment != "" {
		return leg.Expect.Comment
	}
	c := "session " + strconv.FormatUint(s.cfg.Owner, 10)
	if sp.Command != "" {
		c += " " + sp.Command
	}
	if sd == ServerLeg {
		c += " server leg"
	}
	return c
}

// Open makes the channel sp describes the one the next transfer uses, superseding the one
// negotiated before, and installs the expectations of its listening legs (before the peer
// can learn of them). On error the channel is closed and its ports released.
func (s *Set) Open(ctx context.Context, sp Spec) (*Channel, error) {
	path := sp.Path
	if path == nil {
		path = s.cfg.Path
	}
	sp.Client.Expect.Comment, sp.Server.Expect.Comment = s.comment(sp, ClientLeg), s.comment(sp, ServerLeg)
	cctx, cancel := context.WithCancel(ctx)
	ch := &Channel{set: s, legs: [2]Leg{sp.Client, sp.Server}, ports: sp.Ports, path: path, ctx: cctx, parent: ctx, cancel: cancel,
		clientDone: make(chan struct{}), serverDone: make(chan struct{})}
	ch.res.Path = PathProxy
	install := ch.install
	if sp.Kernel != nil {
		if s.cfg.Kernel == nil {
			cancel()
			return nil, fmt.Errorf("datachan: a kernel path channel without a kernel path")
		}
		ch.kernel, ch.hurry, ch.legs = sp.Kernel, make(chan struct{}, 1), [2]Leg{}
		ch.res.Path = PathKernel
		ch.res.Conns[ClientLeg] = sp.Kernel.Pinhole.String()
		install = ch.installKernel
	}
	s.Supersede()
	if err := install(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.cur = ch
	}
	s.mu.Unlock()
	if closed {
		ch.Close(ErrClosed)
		return nil, ErrClosed
	}
	return ch, nil
}

// Supersede ends the channel a previous PASV/PORT negotiated that no transfer used yet.
func (s *Set) Supersede() {
	s.mu.Lock()
	old := s.cur
	s.cur = nil
	s.mu.Unlock()
	if old != nil {
		old.Close(ErrClosed)
	}
}

// Begin hands the negotiated channel to a transfer: it becomes the active one, and no later
// transfer can use it. It returns nil when no channel was negotiated.
func (s *Set) Begin() *Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active, s.cur = s.cur, nil
	return s.active
}

// Abort closes the active transfer's channel (ABOR).
func (s *Set) Abort() {
	s.mu.Lock()
	active := s.active
	s.mu.Unlock()
	if active != nil {
		active.Close(ErrAborted)
	}
}

// Busy reports whether a connect or a transfer is running (the idle timeout waits).
func (s *Set) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running > 0
}

// Close ends every channel of the session, removes its expectations and waits for the
// channels' goroutines. Nothing starts afterwards.
func (s *Set) Close(ctx context.Context) {
	s.mu.Lock()
	s.closed = true
	chans := []*Channel{s.cur, s.active}
	s.mu.Unlock()
	for _, ch := range chans {
		if ch != nil {
			ch.Close(ErrClosed)
		}
	}
	for sd := ClientLeg; sd <= ServerLeg; sd++ {
		s.cfg.Expect.Cancel(context.WithoutCancel(ctx), s.owner(sd))
	}
	s.wg.Wait()
}

// spawn runs f as part of the session's data work: Close waits for it and Busy reports it.
// After Close it does not run.
func (s *Set) spawn(f func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.running++
	s.mu.Unlock()
	go s.run(f)
}

// run is the goroutine of one connect or path.
func (s *Set) run(f func()) {
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
		s.wg.Done()
	}()
	f()
}
