package datachan

import (
	"context"
	"crypto/sha256"
	"io"
	"net"
	"sync"

	"github.com/ftpgate/ftpgate/wire"
)

// hashBufSize is the buffer a hashed direction copies through: large enough that a read
// and a write move many segments (BenchmarkRelayHashed), small enough for many transfers.
const hashBufSize = 128 << 10

// hashBufs holds the copy buffers of hashed directions, shared by all channels.
var hashBufs = sync.Pool{New: func() any { return new([hashBufSize]byte) }}

// Hashed is the relay path that also hashes: each allowed direction is read into a buffer,
// added to a SHA-256 and written on, so that the transfer record has the digest and size of
// what passed. It costs a copy through user space where [Splice] would splice; TLS legs are
// copied through user space either way.
type Hashed struct{}

// Carry runs the relay with hashing; half gets each direction's digest.
func (Hashed) Carry(ctx context.Context, client, server net.Conn, dir wire.Direction, half func(toServer bool, n int64, sum []byte)) (Counts, error) {
	return relay(ctx, client, server, dir, half, true)
}

// pipeHashed is pipe through a pooled buffer and a SHA-256 of the bytes that passed; the
// digest covers exactly the bytes written to dst.
func pipeHashed(dst, src net.Conn) (int64, []byte, error) {
	h := sha256.New()
	buf := hashBufs.Get().(*[hashBufSize]byte)
	defer hashBufs.Put(buf)
	n, err := pipe(dst, src, func(w io.Writer, r io.Reader) (int64, error) {
		return io.CopyBuffer(io.MultiWriter(w, h), onlyReader{r}, buf[:])
	})
	return n, h.Sum(nil), err
}

// onlyReader hides a reader's WriterTo, so that io.CopyBuffer uses the buffer it is given
// (a *net.TCPConn would splice past the hash).
type onlyReader struct{ io.Reader }
