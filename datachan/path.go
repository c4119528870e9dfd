package datachan

import (
	"context"
	"net"

	"github.com/ftpgate/ftpgate/wire"
)

// Path is how the bytes of a joined channel move between its two legs, chosen per channel:
// today the splice relay; a kernel path and an inspected path plug in here without the
// session knowing. Every path gives the same promises: bytes flow only in dir (NoData: both
// ways), a half-close is propagated, half is called as each direction ends with its count,
// both connections are closed when Carry returns, and cancelling ctx ends it. half gets the
// SHA-256 of a direction's bytes when the path hashed them, else nil.
type Path interface {
	Carry(ctx context.Context, client, server net.Conn, dir wire.Direction, half func(toServer bool, n int64, sum []byte)) (Counts, error)
}

// Splice is the relay path: each allowed direction is copied between the TCP connections,
// which Linux splices in the kernel; TLS legs are decrypted and re-encrypted in user space.
type Splice struct{}

// Carry runs [Relay].
func (Splice) Carry(ctx context.Context, client, server net.Conn, dir wire.Direction, half func(toServer bool, n int64, sum []byte)) (Counts, error) {
	return relay(ctx, client, server, dir, half, false, nil)
}

// carryCounted runs p, counting the bytes in m as they pass when p is one of this package's
// relays ([Splice], [Hashed]); another Path's bytes are counted only when it ends.
func carryCounted(ctx context.Context, p Path, client, server net.Conn, dir wire.Direction, half func(toServer bool, n int64, sum []byte), m *meter) (Counts, error) {
	switch p.(type) {
	case Splice:
		return relay(ctx, client, server, dir, half, false, m)
	case Hashed:
		return relay(ctx, client, server, dir, half, true, m)
	}
	return p.Carry(ctx, client, server, dir, half)
}
