package datachan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"

	"github.com/ftpgate/ftpgate/inspect"
)

// chunkMax is the most bytes one chunk holds: a read from the sending side, at most this.
const chunkMax = 64 << 10

// chunkStats counts what one chunk hook did to a transfer, for its verdict.
type chunkStats struct {
	seen, replaced, dropped, failed int
	firstFailure                    string
	refusal                         string // the hook refused the transfer, saying this
}

// chunked is one transfer through chunk hooks (chunk mode).
type chunked struct {
	ch        *Channel
	hooks     []inspect.ChunkHook
	fail      inspect.Fail
	obj       inspect.Object
	stats     []chunkStats
	in, out   int64
	live      *counter // the channel's live count of the transfer's direction
	hin, hout hash.Hash
	seq       int
}

// carryChunked copies src to dst chunk by chunk, each chunk through every chunk hook in turn
// (a hook may pass it, replace it or drop it); what is left passes on at once. A hook that
// refuses (its error has a Refused method that says so) ends the transfer: dst is reset,
// ErrRefused. A hook that fails does the same under fail: closed, and lets the chunk pass
// unchanged under fail: open. It records the bytes read (Received, with their
// digest) and returns those written with theirs; each hook's verdict counts its work. live
// counts the bytes read as they come.
func (ch *Channel) carryChunked(ctx context.Context, dst, src net.Conn, cfg *inspect.Settings, live *counter) (out int64, sum []byte, err error) {
	ch.mu.Lock()
	obj := ch.obj
	obj.TLSClient, obj.TLSServer = ch.res.TLS[ClientLeg].Desc, ch.res.TLS[ServerLeg].Desc
	ch.mu.Unlock()
	c := &chunked{ch: ch, hooks: cfg.ChunkHooks, fail: cfg.Fail, obj: obj, live: live,
		stats: make([]chunkStats, len(cfg.ChunkHooks)), hin: sha256.New(), hout: sha256.New()}
	buf := hashBufs.Get().(*[hashBufSize]byte)
	defer hashBufs.Put(buf)
	err = c.copy(ctx, dst, src, buf[:chunkMax])
	refused := errors.Is(err, ErrRefused)
	ch.mu.Lock()
	ch.res.Received, ch.res.ReceivedSHA256, ch.res.Chunked = c.in, hex.EncodeToString(c.hin.Sum(nil)), true
	ch.mu.Unlock()
	ch.verdicts(c.verdicts(refused), !refused)
	if err != nil {
		abort(dst)
		src.Close()
		return c.out, c.hout.Sum(nil), err
	}
	closeWrite(dst)
	closeRead(src)
	return c.out, c.hout.Sum(nil), nil
}

// copy reads src into buf until EOF, passing each chunk through the hooks to dst.
func (c *chunked) copy(ctx context.Context, dst, src net.Conn, buf []byte) error {
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if err := c.chunk(ctx, dst, buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// chunk passes one chunk through the hooks and writes what is left to dst.
func (c *chunked) chunk(ctx context.Context, dst net.Conn, data []byte) error {
	c.hin.Write(data)
	c.obj.Size = c.in
	c.in += int64(len(data))
	c.live.add(int64(len(data)))
	for i, h := range c.hooks {
		if len(data) == 0 {
			break // dropped: the later hooks have nothing to see
		}
		st := &c.stats[i]
		st.seen++
		got, err := h.Chunk(ctx, &c.obj, c.seq, data)
		var r interface{ Refused() bool }
		switch {
		case errors.As(err, &r) && r.Refused(): // a refusal, not a failure: fail: open does not pass it
			st.refusal = err.Error()
			return fmt.Errorf("%w: %s: %w", ErrRefused, h.Name(), err)
		case err != nil && c.fail == inspect.FailOpen:
			st.failed++
			if st.firstFailure == "" {
				st.firstFailure = err.Error()
			}
			continue // the chunk passes as it came to this hook
		case err != nil:
			st.failed++
			st.firstFailure = err.Error()
			return fmt.Errorf("%w: %s: %w", ErrRefused, h.Name(), err)
		case len(got) == 0:
			st.dropped++
		case &got[0] != &data[0] && !bytes.Equal(got, data):
			st.replaced++
		}
		data = got
	}
	c.seq++
	if len(data) == 0 {
		return nil
	}
	n, err := dst.Write(data)
	c.out += int64(n)
	c.hout.Write(data[:n])
	return err
}

// verdicts is one verdict per hook: what it did, and whether it refused the transfer.
func (c *chunked) verdicts(refused bool) []inspect.Verdict {
	vs := make([]inspect.Verdict, 0, len(c.hooks))
	for i, h := range c.hooks {
		st := c.stats[i]
		v := inspect.Verdict{Hook: h.Name(), Allow: true, Failed: st.failed > 0,
			Reason: fmt.Sprintf("%d chunks, %d replaced, %d dropped", st.seen, st.replaced, st.dropped)}
		switch {
		case st.refusal != "":
			v.Allow, v.Reason = false, st.refusal
		case st.failed > 0:
			v.Reason += fmt.Sprintf(", %d failed: %s", st.failed, st.firstFailure)
			v.Allow = !refused
		}
		vs = append(vs, v)
		if !v.Allow {
			break
		}
	}
	return vs
}
