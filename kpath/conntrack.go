package kpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ftpgate/ftpgate/nft"
	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"
)

// Config is the kernel path's configuration. Zero fields take their defaults.
type Config struct {
	// Mark and Mask: every master ftpgate creates, and so every data connection of the
	// kernel path, carries a connection mark whose Mask bits are Mark (default 0x46000000
	// under 0xff000000); the other bits number the pinholes.
	Mark, Mask uint32
	// Log receives the kernel path's log lines (nil discards them).
	Log *slog.Logger
}

// Defaults of Config.
const (
	DefaultMark = nft.KernelMark
	DefaultMask = nft.KernelMarkMask
)

// masterSlack is how much longer a master lives than its pinhole's expectation.
const masterSlack = 5 * time.Second

// acctSysctl switches conntrack's byte counters on, per network namespace.
const acctSysctl = "/proc/sys/net/netfilter/nf_conntrack_acct"

// Conntrack is the Kernel over ctnetlink.
type Conntrack struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex // serialises every netlink exchange and guards the fields below
	ct      *conntrack.Conn
	nl      *netlink.Conn // NETLINK_NETFILTER, for the expectation messages ti-mo lacks
	seq     uint32
	owners  map[uint64]master
	kids    *children // the data connections, from conntrack's NEW events; nil: found by dumps
	acctWas []byte    // nf_conntrack_acct before Setup, restored by Teardown
}

// master is the fake "ftp" master of one pinhole.
type master struct {
	orig conntrack.Tuple // Src:0 -> Dst:port
	mark uint32
	pin  Pinhole
}

// NewConntrack returns the kernel path for the current network namespace; Setup opens it.
func NewConntrack(cfg Config) *Conntrack {
	if cfg.Mark == 0 && cfg.Mask == 0 {
		cfg.Mark, cfg.Mask = DefaultMark, DefaultMask
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Conntrack{cfg: cfg, log: log, owners: map[uint64]master{}}
}

// Setup dials ctnetlink, switches connection accounting on, removes the masters an earlier
// run left (their pinholes with them; connections under way go on) and proves with a probe
// master that the kernel makes expectations.
func (k *Conntrack) Setup(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	ct, err := conntrack.Dial(nil)
	if err != nil {
		return fmt.Errorf("%w: ctnetlink: %v", ErrUnavailable, err)
	}
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		ct.Close()
		return fmt.Errorf("%w: netfilter netlink: %v", ErrUnavailable, err)
	}
	k.ct, k.nl = ct, nl
	if was, err := os.ReadFile(acctSysctl); err == nil && strings.TrimSpace(string(was)) != "1" {
		if err := os.WriteFile(acctSysctl, []byte("1"), 0o644); err != nil {
			k.closeLocked()
			return fmt.Errorf("%w: connection accounting is off and cannot be switched on (%v): set net.netfilter.nf_conntrack_acct = 1 (deploy/90-ftpgate.conf does)", ErrUnavailable, err)
		}
		k.acctWas = was
	}
	flt := conntrack.NewFilter().Mark(k.cfg.Mark).MarkMask(k.cfg.Mask).Status(0).StatusMask(uint32(conntrack.StatusExpected))
	if err := k.ct.FlushFilter(flt); err != nil && !errors.Is(err, syscall.ENOENT) {
		k.log.Warn("kernel path: removing an earlier run's masters", "err", err.Error())
	}
	if err := k.probeLocked(); err != nil {
		k.restoreLocked()
		k.closeLocked()
		return err
	}
	k.kids = newChildren(k.cfg.Mark, k.cfg.Mask)
	report := func(err error) {
		k.log.Warn("kernel path: conntrack events lost; connections are looked for by dumps until the next pinholes", "err", err.Error())
	}
	if err := k.kids.start(report); err != nil {
		k.log.Warn("kernel path: no conntrack events; every connection is looked for by a dump of the conntrack table", "err", err.Error())
		k.kids = nil
	}
	return nil
}

// probeLocked opens and closes one pinhole on the documentation network 192.0.2.0/24.
func (k *Conntrack) probeLocked() error {
	p := Pinhole{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"), Port: 9}
	m, err := k.openLocked(p, time.Second)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	k.deleteMasterLocked(m)
	return nil
}

// Teardown removes every master of this run and restores nf_conntrack_acct.
func (k *Conntrack) Teardown(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ct == nil {
		return nil
	}
	for owner, m := range k.owners {
		k.deleteMasterLocked(m)
		delete(k.owners, owner)
	}
	err := k.restoreLocked()
	k.closeLocked()
	return err
}

func (k *Conntrack) restoreLocked() error {
	if k.acctWas == nil {
		return nil
	}
	err := os.WriteFile(acctSysctl, k.acctWas, 0o644)
	k.acctWas = nil
	if err != nil {
		return fmt.Errorf("kpath: restore nf_conntrack_acct: %w", err)
	}
	return nil
}

func (k *Conntrack) closeLocked() {
	if k.kids != nil {
		k.kids.close()
		k.kids = nil
	}
	k.ct.Close()
	k.nl.Close()
	k.ct, k.nl = nil, nil
}

// Open opens p for owner (see Kernel).
func (k *Conntrack) Open(ctx context.Context, owner uint64, p Pinhole, timeout time.Duration) (Handle, error) {
	p, err := p.normalize()
	if err != nil {
		return Handle{}, err
	}
	timeout = max(timeout, time.Second)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ct == nil {
		return Handle{}, errors.New("kpath: not set up")
	}
	var gen uint64 // before the expectation: events lost from now on are seen
	if k.kids != nil {
		gen = k.kids.generation()
	}
	if old, ok := k.owners[owner]; ok {
		k.deleteMasterLocked(old)
		delete(k.owners, owner)
	}
	m, err := k.openLocked(p, timeout)
	if err != nil {
		return Handle{}, err
	}
	k.owners[owner] = m
	return Handle{Pinhole: p, Mark: m.mark, gen: gen}, nil
}

// openLocked creates a master for p, then the expectation with its timeout.
func (k *Conntrack) openLocked(p Pinhole, timeout time.Duration) (master, error) {
	var (
		m   master
		err error
	)
	for range 8 { // a master tuple still in use by a live pinhole: take the next number
		k.seq++
		m = master{pin: p, mark: k.cfg.Mark | p.Queue | k.seq&^k.cfg.Mask&^nft.QueueFlagsMask}
		m.orig = tuple(p.Src, p.Dst, 0, uint16(1+k.seq%65535))
		if err = k.createMasterLocked(m, timeout+masterSlack); !errors.Is(err, syscall.EEXIST) {
			break
		}
	}
	if err != nil {
		return m, fmt.Errorf("kpath: create the master of %v: %w", p, err)
	}
	if err := k.expectLocked(m, timeout); err != nil {
		k.deleteMasterLocked(m)
		return m, fmt.Errorf("kpath: expect %v: %w", p, err)
	}
	return m, nil
}

// createMasterLocked creates m: an ESTABLISHED TCP entry with the "ftp" helper (the kernel
// sets CONFIRMED itself and refuses a status that does not include it; the helper name
// must end in NUL).
func (k *Conntrack) createMasterLocked(m master, life time.Duration) error {
	f := conntrack.NewFlow(unix.IPPROTO_TCP, conntrack.StatusSeenReply|conntrack.StatusAssured|conntrack.StatusConfirmed,
		m.orig.IP.SourceAddress, m.orig.IP.DestinationAddress, 0, m.orig.Proto.DestinationPort,
		uint32(life/time.Second), m.mark)
	f.ProtoInfo.TCP = &conntrack.ProtoInfoTCP{State: tcpEstablished}
	f.Helper = conntrack.Helper{Name: "ftp\x00"}
	return k.ct.Create(f)
}

// deleteMasterLocked deletes m, and with it its pinhole if unused. ti-mo chooses the
// address family from both tuples, so the reply tuple is given too.
func (k *Conntrack) deleteMasterLocked(m master) {
	reply := tuple(m.orig.IP.DestinationAddress, m.orig.IP.SourceAddress, m.orig.Proto.DestinationPort, 0)
	err := k.ct.Delete(conntrack.Flow{TupleOrig: m.orig, TupleReply: reply})
	if err != nil && !errors.Is(err, syscall.ENOENT) {
		k.log.Warn("kernel path: delete a pinhole's master", "pinhole", m.pin.String(), "err", err.Error())
	}
}

// Cancel closes h if it is still the owner's pinhole (see Kernel).
func (k *Conntrack) Cancel(ctx context.Context, owner uint64, h Handle) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.kids != nil {
		k.kids.forget(h.Mark) // the channel is done with its connection
	}
	if m, ok := k.owners[owner]; ok && identity(m.mark) == identity(h.Mark) && k.ct != nil {
		k.deleteMasterLocked(m)
		delete(k.owners, owner)
	}
}
