package pktfilter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// QueueConfig configures the packet filter's queues.
type QueueConfig struct {
	// Num is the queue of connections with the bypass flag; Num+1 is the other's (see
	// nft.ChainQueue).
	Num uint16
	// MaxLen is the kernel's bound on packets waiting in each queue (default 4096).
	MaxLen uint32
	// Log receives the queues' log lines (nil discards them).
	Log *slog.Logger
	// Observe, when set, hears of every packet judged (metrics).
	Observe Observer
}

// Observer hears of each judged packet: its verdict, payload bytes, and how long it waited
// in ftpgate for its verdict (the rate cap's delay included); unknown packets belong to no
// registered connection (a connection of an earlier run, say).
type Observer interface {
	Judged(a Action, payload int, hold time.Duration)
	Unknown(bypass bool)
}

// DefaultMaxLen is QueueConfig.MaxLen's default.
const DefaultMaxLen = 4096

// readBuffer is the receive buffer of each queue's socket: GSO packets of up to 64 KiB
// each; a full buffer costs packets (dropped, or passed unjudged with bypass).
const readBuffer = 64 << 20

// Queue reads the packet filter's two NFQUEUE queues and hands each packet to the judge of
// its connection. Packets carry no connection mark in userspace on kernels without
// CONFIG_NETFILTER_NETLINK_GLUE_CT, so a connection is found by its addresses and ports: a
// registered pinhole (source, destination, destination port) takes the first connection
// that comes through it, whose source port then completes its key. Safe for concurrent use.
type Queue struct {
	cfg QueueConfig
	log *slog.Logger

	mu      sync.Mutex
	pending map[Pinhole]*entry // registered, no connection yet
	conns   map[conn]*entry    // connections, by their original direction's addresses and ports
	readers []*reader
	resets  *resetter // nil: stopped transfers' receivers learn at their next packet
}

// Pinhole is a registered connection's key before it comes: from Src (any port) to
// Dst:Port.
type Pinhole struct {
	Src, Dst netip.Addr
	Port     uint16
}

// conn is a connection in its original direction.
type conn struct {
	src, dst netip.AddrPort
}

// entry is one registered connection.
type entry struct {
	pin    Pinhole
	j      *Judge
	onStop func(reason string)
	once   sync.Once
	conns  []conn // the connections it took (one; a second is refused by the kernel)
}

// NewQueue returns the queues of cfg; Start opens them.
func NewQueue(cfg QueueConfig) *Queue {
	if cfg.MaxLen == 0 {
		cfg.MaxLen = DefaultMaxLen
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{cfg: cfg, log: log, pending: map[Pinhole]*entry{}, conns: map[conn]*entry{}}
}

// Add registers the judge of the connection that will come through pin. onStop is called
// once when the judge stops the transfer, before the packet's verdict: it must not block. The returned function
// forgets the registration (a later one of the same pinhole stays).
func (q *Queue) Add(pin Pinhole, j *Judge, onStop func(reason string)) (remove func()) {
	pin.Src, pin.Dst = pin.Src.Unmap(), pin.Dst.Unmap()
	e := &entry{pin: pin, j: j, onStop: onStop}
	q.mu.Lock()
	q.pending[pin] = e
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.pending[pin] == e {
			delete(q.pending, pin)
		}
		for _, c := range e.conns {
			if q.conns[c] == e {
				delete(q.conns, c)
			}
		}
	}
}

// Len returns the number of registrations without a connection and of connections.
func (q *Queue) Len() (pending, conns int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending), len(q.conns)
}

// lookup finds the entry of packet p and the packet's direction. A packet of the original
// direction through a pending pinhole binds its connection.
func (q *Queue) lookup(p *Packet) (*entry, Dir) {
	src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.conns[conn{src, dst}]; e != nil {
		return e, Original
	}
	if e := q.conns[conn{dst, src}]; e != nil {
		return e, Reply
	}
	// The first packet of a pinhole's connection: in the original direction usually (the
	// SYN), in the reply direction when the queue was narrowed to it before the connection
	// came. Only the pinhole's connection is queued with its flags: the kernel admits one
	// connection per pinhole.
	if e := q.bindLocked(Pinhole{Src: p.Src, Dst: p.Dst, Port: p.DstPort}, conn{src, dst}); e != nil {
		return e, Original
	}
	if e := q.bindLocked(Pinhole{Src: p.Dst, Dst: p.Src, Port: p.SrcPort}, conn{dst, src}); e != nil {
		return e, Reply
	}
	return nil, Original
}

// bindLocked gives the pending registration of pin, if any, its connection c.
func (q *Queue) bindLocked(pin Pinhole, c conn) *entry {
	e := q.pending[pin]
	if e == nil {
		return nil
	}
	delete(q.pending, pin)
	e.conns = append(e.conns, c)
	q.conns[c] = e
	return e
}

// reset sends the TCP reset pkt (see Reset) toward its destination.
func (q *Queue) reset(pkt []byte) {
	q.mu.Lock()
	rs := q.resets
	q.mu.Unlock()
	if rs == nil || pkt == nil {
		return
	}
	p, err := Parse(pkt)
	if err == nil {
		err = rs.send(pkt, p.Dst)
	}
	if err != nil {
		q.log.Warn("packet filter: send the reset of a stopped transfer", "err", err.Error())
	}
}

// Start binds both queues and reads them until ctx is done or Close.
func (q *Queue) Start(ctx context.Context) error {
	rs, err := openResetter()
	if err != nil {
		q.log.Warn("packet filter: a stopped transfer's receiver learns it only at its next packet", "err", err.Error())
	}
	q.mu.Lock()
	q.resets = rs
	q.mu.Unlock()
	for _, bypass := range []bool{true, false} {
		num := q.cfg.Num
		if !bypass {
			num++
		}
		r, err := q.open(ctx, num, bypass)
		if err != nil {
			q.Close()
			return err
		}
		q.mu.Lock()
		q.readers = append(q.readers, r)
		q.mu.Unlock()
	}
	q.log.Info("packet filter reads its queues", "bypass_queue", q.cfg.Num, "closed_queue", q.cfg.Num+1)
	return nil
}

// Close lets go of both queues: packets waiting in them are dropped by the kernel, and new
// ones pass (bypass) or are dropped, as their rule says.
func (q *Queue) Close() error {
	q.mu.Lock()
	rs, resets := q.readers, q.resets
	q.readers, q.resets = nil, nil
	q.mu.Unlock()
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.close())
	}
	if resets != nil {
		errs = append(errs, resets.close())
	}
	return errors.Join(errs...)
}

// open binds queue num and starts reading it.
func (q *Queue) open(ctx context.Context, num uint16, bypass bool) (*reader, error) {
	// The bypass queue also lets packets pass when it is full.
	n, err := openNFQ(num, q.cfg.MaxLen, bypass)
	if err != nil {
		return nil, fmt.Errorf("pktfilter: open queue %d: %w", num, err)
	}
	r := &reader{q: q, nfq: n, num: num, bypass: bypass, done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	go r.run()
	return r, nil
}
