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
// written on and added to a SHA-256 (on a goroutine of its own, overlapping the copy), so that the transfer record has the digest and size of
// what passed. It costs a copy through user space where [Splice] would splice; TLS legs are
// copied through user space either way.
type Hashed struct{}

// Carry runs the relay with hashing; half gets each direction's digest.
func (Hashed) Carry(ctx context.Context, client, server net.Conn, dir wire.Direction, half func(toServer bool, n int64, sum []byte)) (Counts, error) {
	return relay(ctx, client, server, dir, half, true, nil)
}

// pipeHashed is pipe through pooled buffers and a SHA-256 of the bytes that passed; the
// digest covers exactly the bytes written to dst. The hashing runs on a goroutine of its
// own, a buffer behind the copy, so that it overlaps the next read and write instead of
// adding to them. live, when not nil, counts the bytes as they are written.
func pipeHashed(dst, src net.Conn, live *counter) (int64, []byte, error) {
	hs := newHasher()
	n, err := pipe(dst, src, func(w io.Writer, r io.Reader) (int64, error) {
		var n int64
		for {
			buf := hs.buffer()
			nr, rerr := r.Read(buf[:])
			if nr > 0 {
				nw, werr := w.Write(buf[:nr])
				n += int64(nw)
				live.add(int64(nw))
				hs.add(buf, nw)
				if werr != nil {
					return n, werr
				}
			} else {
				hs.free <- buf
			}
			if rerr == io.EOF {
				return n, nil
			}
			if rerr != nil {
				return n, rerr
			}
		}
	})
	return n, hs.sum(), err
}

// hashDepth is how many buffers a hashed copy may have in flight: read and written, and
// not yet hashed.
const hashDepth = 3

// hasher hashes the buffers a copy hands it, in order, on its own goroutine.
type hasher struct {
	todo chan hashed
	free chan *[hashBufSize]byte
	done chan []byte
}

// hashed is a buffer and how many of its bytes count.
type hashed struct {
	buf *[hashBufSize]byte
	n   int
}

func newHasher() *hasher {
	hs := &hasher{todo: make(chan hashed, hashDepth), free: make(chan *[hashBufSize]byte, hashDepth), done: make(chan []byte, 1)}
	for range hashDepth {
		hs.free <- hashBufs.Get().(*[hashBufSize]byte)
	}
	go hs.run()
	return hs
}

// run hashes until todo is closed, then sends the digest.
func (hs *hasher) run() {
	h := sha256.New()
	for x := range hs.todo {
		h.Write(x.buf[:x.n])
		hs.free <- x.buf
	}
	hs.done <- h.Sum(nil)
}

// buffer returns a free buffer, waiting for the hasher if every one is in flight.
func (hs *hasher) buffer() *[hashBufSize]byte { return <-hs.free }

// add hands the first n bytes of buf to the hasher.
func (hs *hasher) add(buf *[hashBufSize]byte, n int) { hs.todo <- hashed{buf, n} }

// sum waits for the hasher and returns the digest; the buffers go back to the pool.
func (hs *hasher) sum() []byte {
	close(hs.todo)
	d := <-hs.done
	for range hashDepth {
		hashBufs.Put(<-hs.free)
	}
	return d
}

// onlyReader hides a reader's WriterTo, so that io.CopyBuffer uses the buffer it is given
// (a *net.TCPConn would splice past the hash).
type onlyReader struct{ io.Reader }
