package datachan

import (
	"io"
	"net"
	"sync/atomic"
)

// Progress is a channel's live byte counts: what ftpgate has read from each sending side so
// far, while the transfer runs (Result has the final counts once it is over). A channel on
// the kernel path moves its bytes past ftpgate: Kernel is set, and the counts are
// conntrack's estimate as last polled (every 500 ms at most), like the record's.
type Progress struct {
	ToClient, ToServer int64
	Kernel             bool
}

// meter counts a channel's bytes as they pass, by direction: cheap atomic adds, one per
// splice, read or write call, so that a session listing can read them at any time.
type meter struct {
	toServer, toClient counter
}

// way returns the counter of one direction (nil meter: nil counter, which counts nothing).
func (m *meter) way(toServer bool) *counter {
	switch {
	case m == nil:
		return nil
	case toServer:
		return &m.toServer
	}
	return &m.toClient
}

// Progress returns the bytes that have passed the channel so far.
func (ch *Channel) Progress() Progress {
	if ch.kernel != nil {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return Progress{Kernel: true, ToClient: ch.res.ToClient, ToServer: ch.res.ToServer}
	}
	return Progress{ToClient: ch.meter.toClient.Load(), ToServer: ch.meter.toServer.Load()}
}

// counter is a live byte count; as an io.Writer it counts what is written to it. A nil
// counter counts nothing.
type counter struct{ atomic.Int64 }

// add counts n bytes.
func (c *counter) add(n int64) {
	if c != nil && n > 0 {
		c.Add(n)
	}
}

func (c *counter) Write(p []byte) (int, error) {
	c.add(int64(len(p)))
	return len(p), nil
}

// countedWriter counts what passes to w; it hides w's ReaderFrom.
type countedWriter struct {
	w io.Writer
	c *counter
}

func (cw countedWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.c.add(int64(n))
	return n, err
}

// spliceStep is the most one splice call of a counted copy moves before the count is
// updated: small enough that a slow transfer's count moves every second or so, large enough
// that the extra call costs nothing measurable on a fast one.
const spliceStep = 256 << 10

// countedCopy is io.Copy that counts as it goes. Between two TCP connections it stays a
// splice, in steps of spliceStep (a *io.LimitedReader over a TCP connection still
// splices); otherwise the bytes are counted as they are written.
func countedCopy(c *counter) func(io.Writer, io.Reader) (int64, error) {
	if c == nil {
		return io.Copy
	}
	return func(dst io.Writer, src io.Reader) (int64, error) {
		_, dt := dst.(*net.TCPConn)
		st, sok := src.(*net.TCPConn)
		if !dt || !sok {
			return io.Copy(countedWriter{dst, c}, src)
		}
		var total int64
		lr := &io.LimitedReader{R: st}
		for {
			lr.N = spliceStep
			n, err := io.Copy(dst, lr)
			total += n
			c.add(n)
			if err != nil || n < spliceStep {
				return total, err
			}
		}
	}
}
