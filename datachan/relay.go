package datachan

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/ftpgate/ftpgate/wire"
)

// Counts are the bytes a relay carried each way.
type Counts struct {
	// ToServer counts bytes read from the client leg and written to the server leg; ToClient
	// the other way. For the direction a one-way relay forbids, it counts the offending bytes
	// read (and dropped), if any.
	ToServer, ToClient int64
}

// allows reports whether a relay for a transfer in direction d lets bytes flow toward the
// server (toServer) or toward the client. NoData allows both ways.
func allows(d wire.Direction, toServer bool) bool {
	return d == wire.NoData || (d == wire.Upload) == toServer
}

// way names the direction of the copy toward the server (toServer) or toward the client.
func way(toServer bool) wire.Direction {
	if toServer {
		return wire.Upload
	}
	return wire.Download
}

// ErrWrongDirection is returned (wrapped, naming the direction and the byte count) when bytes
// arrive in the direction the transfer does not allow; the relay then closes both connections.
var ErrWrongDirection = errors.New("datachan: data in the wrong direction")

// guardBuf is the size of the buffer the forbidden direction of a one-way relay reads into.
// Any byte is a violation, so it only needs to be large enough to report a useful count.
const guardBuf = 512

// Relay joins the client leg a and the server leg b until both directions have ended, propagating half-close: when one side
// finishes sending, the other side's write half is shut down, so a reader sees EOF exactly
// when the writer closed. Cancelling ctx closes both connections. Relay closes a and b before
// it returns.
//
// dir says which way bytes may flow: toward the client (Download), toward the server
// (Upload) or both (NoData). An allowed direction is copied between the
// *net.TCPConn values, so Linux splices it inside the kernel. A forbidden direction is only
// watched: its EOF is propagated as a half-close like any other, but a single byte is a
// violation, upon which both connections are reset and Relay returns an error wrapping
// ErrWrongDirection. Nothing of a forbidden direction is ever written to the other side.
//
// The error is ErrWrongDirection if there was a violation, else the first failure other than
// a closed connection, else ctx.Err(). If half is not nil it is called as each direction ends,
// with its byte count (aToB tells which direction); for a forbidden direction the count is 0,
// or the offending count after a violation.
//
// a and b are TCP connections, or TLS connections over them (FTPS data channels, which
// ftpgate decrypts and re-encrypts); only TCP to TCP is spliced.
func Relay(ctx context.Context, a, b net.Conn, dir wire.Direction, half func(toServer bool, n int64)) (Counts, error) {
	var h func(bool, int64, []byte)
	if half != nil {
		h = func(toServer bool, n int64, _ []byte) { half(toServer, n) }
	}
	return relay(ctx, a, b, dir, h, false, nil)
}

// relay is Relay; with hash, each allowed direction is copied through a buffer and hashed
// (SHA-256), and half also gets the digest of its bytes (nil for a direction not copied).
// m, when not nil, counts the bytes of each allowed direction as they pass.
func relay(ctx context.Context, a, b net.Conn, dir wire.Direction, half func(toServer bool, n int64, sum []byte), hash bool, m *meter) (Counts, error) {
	if dir != wire.NoData && dir != wire.Upload && dir != wire.Download {
		a.Close()
		b.Close()
		return Counts{}, fmt.Errorf("datachan: relay: invalid direction %d", int(dir))
	}
	var (
		c    Counts
		wg   sync.WaitGroup
		errs [2]error
	)
	stop := context.AfterFunc(ctx, func() {
		a.Close()
		b.Close()
	})
	defer stop()
	wg.Add(2)
	go relayToServer(&wg, a, b, dir, half, hash, m.way(true), &c.ToServer, &errs[0])
	go relayToClient(&wg, a, b, dir, half, hash, m.way(false), &c.ToClient, &errs[1])
	wg.Wait()
	a.Close()
	b.Close()
	for _, err := range errs {
		if errors.Is(err, ErrWrongDirection) {
			return c, err
		}
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return c, err
		}
	}
	return c, ctx.Err()
}

// relayToServer is the goroutine that carries (or guards) the bytes from the client leg a
// to the server leg b; a named function, so it shows up by name in stack dumps.
func relayToServer(wg *sync.WaitGroup, a, b net.Conn, dir wire.Direction, half func(bool, int64, []byte), hash bool, live *counter, n *int64, err *error) {
	defer wg.Done()
	var sum []byte
	*n, sum, *err = carry(b, a, dir, true, hash, live)
	if half != nil {
		half(true, *n, sum)
	}
}

// relayToClient is the goroutine that carries (or guards) the bytes from the server leg b to
// the client leg a.
func relayToClient(wg *sync.WaitGroup, a, b net.Conn, dir wire.Direction, half func(bool, int64, []byte), hash bool, live *counter, n *int64, err *error) {
	defer wg.Done()
	var sum []byte
	*n, sum, *err = carry(a, b, dir, false, hash, live)
	if half != nil {
		half(false, *n, sum)
	}
}

// carry runs one direction of a relay: pipe where dir allows it (hashed, with hash), guard
// where it does not. live, when not nil, counts the piped bytes as they pass.
func carry(dst, src net.Conn, dir wire.Direction, toServer, hash bool, live *counter) (int64, []byte, error) {
	if allows(dir, toServer) {
		if hash {
			return pipeHashed(dst, src, live)
		}
		n, err := pipe(dst, src, countedCopy(live))
		return n, nil, err
	}
	n, err := guard(dst, src)
	if errors.Is(err, ErrWrongDirection) {
		err = fmt.Errorf("%w: %d bytes of %s on a %s relay", err, n, way(toServer), dir)
	}
	return n, nil, err
}

// pipe copies src to dst with cp and then half-closes: dst stops writing, src stops
// reading. On an error both directions of both connections are torn down, so the peer copy
// ends too.
func pipe(dst, src net.Conn, cp func(io.Writer, io.Reader) (int64, error)) (int64, error) {
	n, err := cp(dst, src)
	if err != nil {
		// A reset or a failed write: tear everything down so the other direction ends too.
		abort(dst)
		src.Close()
		return n, err
	}
	closeWrite(dst)
	closeRead(src)
	return n, nil
}

// tcpOf returns the TCP connection under c (c itself, or the one under a TLS connection).
func tcpOf(c net.Conn) *net.TCPConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, _ := c.(*net.TCPConn)
	return t
}

// closeWrite ends c's sending side: a TLS close_notify first, then the TCP FIN.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	if t := tcpOf(c); t != nil {
		t.CloseWrite()
	}
}

// closeRead ends c's receiving side.
func closeRead(c net.Conn) {
	if t := tcpOf(c); t != nil {
		t.CloseRead()
	}
}

// abort closes c with a reset.
func abort(c net.Conn) {
	if t := tcpOf(c); t != nil {
		t.SetLinger(0)
	}
	c.Close()
}

// guard watches the forbidden direction from src to dst without copying. EOF half-closes as
// pipe does and returns 0, nil. Any byte resets both connections (the other direction ends
// too) and returns the number of bytes read with an error wrapping ErrWrongDirection.
func guard(dst, src net.Conn) (int64, error) {
	buf := make([]byte, guardBuf)
	var (
		n   int
		err error
	)
	for n == 0 && err == nil {
		n, err = src.Read(buf)
	}
	switch {
	case n > 0:
		// An abortive close on both: the offender gets a reset, and the other peer learns
		// that the transfer failed instead of seeing an orderly end.
		abort(src)
		abort(dst)
		return int64(n), ErrWrongDirection
	case errors.Is(err, io.EOF):
		closeWrite(dst)
		closeRead(src)
		return 0, nil
	default:
		abort(dst)
		src.Close()
		return 0, err
	}
}
