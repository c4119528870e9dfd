package kpath

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ftpgate/ftpgate/nft"
)

// Pinhole is one expected data connection: from Src (any source port) to Dst:Port.
type Pinhole struct {
	Src, Dst netip.Addr
	Port     uint16
	// Queue are the queue flags (nft.QueueOriginal, QueueReply, QueueBypass) its
	// connection's mark carries: which of its packets ftpgate's packet filter judges.
	Queue uint32
}

// String formats p as "198.51.100.2 -> 203.0.113.2:40001".
func (p Pinhole) String() string {
	return fmt.Sprintf("%s -> %s", p.Src, netip.AddrPortFrom(p.Dst, p.Port))
}

// normalize validates p and unmaps IPv4-mapped addresses.
func (p Pinhole) normalize() (Pinhole, error) {
	p.Src, p.Dst = p.Src.Unmap().WithZone(""), p.Dst.Unmap().WithZone("")
	switch {
	case !p.Src.IsValid() || !p.Dst.IsValid():
		return p, fmt.Errorf("kpath: pinhole %v: invalid address", p)
	case p.Src.Is4() != p.Dst.Is4():
		return p, fmt.Errorf("kpath: pinhole %v: mixed address families", p)
	case p.Port == 0:
		return p, fmt.Errorf("kpath: pinhole %v: port 0", p)
	case p.Queue&^nft.QueueFlagsMask != 0:
		return p, fmt.Errorf("kpath: pinhole %v: queue flags %#x outside %#x", p, p.Queue, nft.QueueFlagsMask)
	}
	return p, nil
}

// Handle names one opened pinhole: the mark its connection carries.
type Handle struct {
	Pinhole Pinhole
	Mark    uint32
	gen     uint64 // the generation of conntrack events when the pinhole opened
}

// Flow is what the kernel saw of the connection that used a pinhole.
type Flow struct {
	// Seen: the connection came.
	Seen bool
	// FromSrc and ToSrc are the payload bytes from the pinhole's Src toward Dst, and back:
	// conntrack's byte counters less an estimate of the headers (see Payload).
	FromSrc, ToSrc int64
	// Closed: either side has sent its FIN (or reset): all data of the direction that ended
	// has passed the box.
	Closed bool
}

// Kernel opens and reads pinholes. Implementations are safe for concurrent use.
type Kernel interface {
	// Setup prepares the kernel (connection accounting) and removes the masters a previous
	// run left behind.
	Setup(ctx context.Context) error
	// Teardown removes every master of this run and restores what Setup changed.
	Teardown(ctx context.Context) error
	// Open opens p for the owner (an FTP session), expiring after timeout (at least one
	// second), and closes the owner's previous pinhole if it is still unused.
	Open(ctx context.Context, owner uint64, p Pinhole, timeout time.Duration) (Handle, error)
	// Cancel closes h if it is still the owner's pinhole and unused. A connection that used
	// it goes on, but the caller is done reading it: Flow may then find it only by a dump.
	Cancel(ctx context.Context, owner uint64, h Handle)
	// Flow reports the connection that used h.
	Flow(ctx context.Context, h Handle) (Flow, error)
	// Cut ends the connection that used h at the box: every further packet of it is
	// answered with a TCP reset (ABOR).
	Cut(ctx context.Context, h Handle) error
	// Requeue changes the queue flags of h's pinhole and of the connection that used it:
	// the packet filter narrows to the direction the transfer's bytes take. A pinhole or
	// connection that is gone is not an error.
	Requeue(ctx context.Context, owner uint64, h Handle, queue uint32) error
}

// Header bytes conntrack counts per IP packet of a data connection besides the payload: a
// TCP header with the timestamp option (20 + 12 bytes), which Linux peers send on every
// segment; the SYN (or SYN-ACK) carries 8 option bytes more.
const (
	tcpHeaderTS = 32
	synExtra    = 8
)

// Payload estimates the payload in bytes that conntrack counted in packets of one direction
// of a TCP connection. conntrack counts IP packets, headers included, and a GSO or GRO packet
// as one, so this is an estimate: usually within 1% for bulk transfers between Linux peers
// (measured 0.3–0.6% high; once 1.3% for an active-mode upload). Transfer records mark it
// (bytes_estimated).
func Payload(bytes, packets int64, v4 bool) int64 {
	ip := int64(40)
	if v4 {
		ip = 20
	}
	if packets == 0 {
		return 0
	}
	return max(bytes-packets*(ip+tcpHeaderTS)-synExtra, 0)
}

// ErrUnavailable is wrapped by Setup when the kernel cannot make pinholes (no conntrack,
// no ctnetlink, or no "ftp" helper).
var ErrUnavailable = errors.New("kpath: the kernel cannot open data pinholes")
var (
	_ Kernel = (*Conntrack)(nil)
	_ Kernel = (*Fake)(nil)
)
