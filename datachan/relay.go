package datachan

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// Counts are the bytes a relay carried each way.
type Counts struct {
	// AToB counts bytes read from a and written to b; BToA the other way.
	AToB, BToA int64
}

// Relay copies between a and b until both directions have ended, propagating half-close: when
// one side finishes sending, the other side's write half is shut down, so a reader sees EOF
// exactly when the writer closed. Copies run between *net.TCPConn values, so Linux splices
// them inside the kernel. Cancelling ctx closes both connections. Relay closes a and b before
// it returns. The error is the first failure other than a closed connection. If half is not
// nil it is called as each direction ends, with its byte count (aToB tells which direction).
func Relay(ctx context.Context, a, b *net.TCPConn, half func(aToB bool, n int64)) (Counts, error) {
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
	go func() {
		defer wg.Done()
		c.AToB, errs[0] = pipe(b, a)
		if half != nil {
			half(true, c.AToB)
		}
	}()
	go func() {
		defer wg.Done()
		c.BToA, errs[1] = pipe(a, b)
		if half != nil {
			half(false, c.BToA)
		}
	}()
	wg.Wait()
	a.Close()
	b.Close()
	for _, err := range errs {
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return c, err
		}
	}
	return c, ctx.Err()
}

// pipe copies src to dst and then half-closes: dst stops writing, src stops reading. On an
// error both directions of both connections are torn down, so the peer copy ends too.
func pipe(dst, src *net.TCPConn) (int64, error) {
	n, err := io.Copy(dst, src)
	if err != nil {
		// A reset or a failed write: tear everything down so the other direction ends too.
		dst.SetLinger(0)
		dst.Close()
		src.Close()
		return n, err
	}
	dst.CloseWrite()
	src.CloseRead()
	return n, nil
}
