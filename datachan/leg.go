package datachan

import (
	"context"
	"net"
	"net/netip"

	"github.com/ftpgate/ftpgate/nft"
)

// Side names the two legs of a data channel.
type Side int

// The legs.
const (
	ClientLeg Side = iota // the leg toward the FTP client
	ServerLeg             // the leg toward the FTP server
)

// String returns "client" or "server".
func (sd Side) String() string {
	if sd == ClientLeg {
		return "client"
	}
	return "server"
}

// Leg is one side of a data channel: either ftpgate listens (an expectation: the peer
// connects, and the connection arrives through the data listener) or ftpgate connects.
type Leg struct {
	// Listen: the peer connects; Expect is the element that admits its connection.
	Listen bool
	Expect nft.Element
	// Connect: ftpgate dials To from From (invalid: the box's own address) and FromPort
	// (0: any).
	To       netip.AddrPort
	From     netip.Addr
	FromPort uint16
	// TLS: the leg's data connections are protected (its PROT P); Peer.Secure wraps them.
	TLS bool
}

// Dialer connects a leg. When src is valid the connection leaves from that address (the
// client's own, spoofed); otherwise from the box's own address. intercept.Dialer is one.
type Dialer interface {
	Dial(ctx context.Context, src netip.Addr, dst netip.AddrPort) (*net.TCPConn, error)
}

// PortDialer is a Dialer that also chooses the source port. intercept.Dialer is one.
type PortDialer interface {
	DialPort(ctx context.Context, src, dst netip.AddrPort) (*net.TCPConn, error)
}

// Expecter admits expected connections: the session-facing side of the [Registry].
type Expecter interface {
	// Expect admits one connection matching k and hands it to h, superseding the owner's
	// previous expectation.
	Expect(ctx context.Context, owner uint64, k nft.Element, h Handler) error
	// Cancel removes the owner's expectation, if any.
	Cancel(ctx context.Context, owner uint64)
	// Withdraw removes the owner's expectation if it is still k.
	Withdraw(ctx context.Context, owner uint64, k nft.Element)
}

// PortAllocator hands out data ports without collisions across sessions. [Ports]
// implements it.
type PortAllocator interface {
	Reserve() (uint16, error)
	Release(port uint16)
}

// TLSInfo is what a transfer record says of one leg's TLS.
type TLSInfo struct {
	// Desc is the version and cipher ("TLS1.3 TLS_AES_128_GCM_SHA256"), "" for a plain leg.
	Desc string
	// Resumed: the data connection's TLS session resumed the control connection's.
	Resumed bool
}

// Peer is what a channel needs from the session that owns it: the one way a channel talks
// back up.
type Peer interface {
	// Secure wraps a new connection of a protected leg in TLS: toward the client ftpgate is
	// the TLS server, toward the server the TLS client. It returns the connection to relay
	// and what the record says of its TLS. An error closes the channel and is its Result's.
	Secure(ctx context.Context, side Side, c *net.TCPConn) (net.Conn, TLSInfo, error)
	// Relayed tells the session that the channel's bytes have all moved (its Result is
	// final): from here it bounds the wait for the transfer's final reply.
	Relayed(ch *Channel)
}
