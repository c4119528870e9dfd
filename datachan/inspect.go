package datachan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/wire"
)

// ErrRefused ends a transfer whose object a hook refused (inspect mode): nothing of it
// reached the receiving side, whose connection was reset.
var ErrRefused = errors.New("datachan: refused by inspection")

// SetObject gives the channel the metadata of the transfer that uses it, for its hooks;
// call it before Activate.
func (ch *Channel) SetObject(o inspect.Object) {
	ch.mu.Lock()
	ch.obj = o
	ch.mu.Unlock()
}

// HoldBound is how much longer than the linger time a transfer's final reply may wait for
// this channel: the time its hooks may take (0 for a channel without hooks).
func (ch *Channel) HoldBound() time.Duration {
	s := ch.set.cfg.Inspect
	if s == nil || !s.Active() {
		return 0
	}
	if !s.WholeObjects() {
		return 0 // chunk hooks judge as the bytes pass: nothing is left for after the transfer
	}
	var d time.Duration
	for _, h := range s.Hooks {
		d += inspect.TimeoutOf(h)
	}
	return d
}

// inspectMode is the hook mode of the channel's transfer in direction dir.
func (ch *Channel) inspectMode(dir wire.Direction) inspect.Mode {
	s := ch.set.cfg.Inspect
	if s == nil || ch.kernel != nil || (dir != wire.Upload && dir != wire.Download) {
		return inspect.ModeNone
	}
	return s.For(dir == wire.Upload)
}

// carryInspected carries a one-way transfer through the hooks: observe mode passes the
// bytes at once and gives the hooks the whole object afterwards; inspect mode spools the
// object and releases it only when every hook allowed it, else resets the receiver's
// connection and fails with ErrRefused. The other direction is guarded as on every path.
// half is called for the transfer's direction after the hooks ran, so that the final
// reply waits for the verdicts.
func (ch *Channel) carryInspected(ctx context.Context, cc, sc net.Conn, dir wire.Direction, mode inspect.Mode) error {
	upload := dir == wire.Upload
	src, dst := sc, cc
	if upload {
		src, dst = cc, sc
	}
	stop := context.AfterFunc(ctx, func() { cc.Close(); sc.Close() })
	defer stop()
	var (
		wg   sync.WaitGroup
		gerr error
	)
	wg.Go(func() { // the forbidden direction, from dst's peer toward src's
		var n int64
		n, gerr = guard(src, dst)
		if errors.Is(gerr, ErrWrongDirection) {
			gerr = fmt.Errorf("%w: %d bytes of %s on a %s relay", gerr, n, way(!upload), dir)
		}
		ch.half(!upload, n, nil)
	})
	cfg := ch.set.cfg.Inspect
	spool := inspect.NewSpool(cfg.SpoolDir, cfg.SpoolMemory, cfg.MaxSize)
	defer spool.Close()
	var (
		in, out int64
		err     error
		sum     []byte
	)
	switch mode {
	case inspect.ModeChunk:
		out, sum, err = ch.carryChunked(ctx, dst, src, cfg, ch.meter.way(upload))
	case inspect.ModeObserve:
		var serr error
		in, sum, serr, err = observe(dst, src, spool, ch.meter.way(upload))
		out = in
		ch.mu.Lock()
		ch.res.Received = in
		ch.mu.Unlock()
		if serr != nil { // the hooks would see a truncated object: they see none
			ch.verdicts([]inspect.Verdict{{Hook: "spool", Allow: true, Reason: "not observed: " + serr.Error(), Failed: true}}, true)
		} else {
			ch.judge(ctx, spool, in, sum, cfg.Fail, true)
		}
	default:
		in, out, sum, err = ch.storeAndForward(ctx, dst, src, spool, cfg.Fail, ch.meter.way(upload))
	}
	ch.half(upload, out, sum)
	wg.Wait()
	cc.Close()
	sc.Close()
	return errors.Join(err, gerr)
}

// observe copies src to dst through a SHA-256 and into spool (which stops taking bytes
// when full: the flow never waits for it), then half-closes as pipe does. serr says why the
// spool stopped taking bytes, if it did. live counts the bytes as they pass.
func observe(dst, src net.Conn, spool *inspect.Spool, live *counter) (n int64, sum []byte, serr, err error) {
	h := sha256.New()
	buf := hashBufs.Get().(*[hashBufSize]byte)
	defer hashBufs.Put(buf)
	side := &bestEffort{w: spool}
	n, err = pipe(dst, src, func(w io.Writer, r io.Reader) (int64, error) {
		return io.CopyBuffer(io.MultiWriter(countedWriter{w, live}, h, side), onlyReader{r}, buf[:])
	})
	return n, h.Sum(nil), side.err, err
}

// bestEffort writes to w until w fails once, then drops everything, never failing.
type bestEffort struct {
	w   io.Writer
	err error
}

func (b *bestEffort) Write(p []byte) (int, error) {
	if b.err == nil {
		_, b.err = b.w.Write(p)
	}
	return len(p), nil
}

// storeAndForward reads the whole object from src into spool, lets the hooks judge it and
// writes it to dst only if they allow it; a refused object resets dst. It returns the bytes
// read, the bytes written, the digest and the error (ErrRefused for a refusal). live counts
// the bytes read as they come.
func (ch *Channel) storeAndForward(ctx context.Context, dst, src net.Conn, spool *inspect.Spool, fail inspect.Fail, live *counter) (in, out int64, sum []byte, err error) {
	buf := hashBufs.Get().(*[hashBufSize]byte)
	defer hashBufs.Put(buf)
	in, sum, err = ch.spoolFrom(src, spool, buf, live)
	if err != nil {
		abort(dst)
		src.Close()
		return in, 0, nil, err
	}
	closeRead(src)
	if !ch.judge(ctx, spool, in, sum, fail, false) {
		abort(dst)
		return in, 0, sum, ErrRefused
	}
	out, err = io.CopyBuffer(onlyWriter{dst}, spool.Reader(), buf[:])
	if err != nil {
		abort(dst)
		return in, out, sum, err
	}
	closeWrite(dst)
	return in, out, sum, nil
}

// spoolFrom reads src whole into spool through a SHA-256 and records how much it read. An
// object over the spool's max_size is refused (ErrRefused, with the spool's verdict). live
// counts the bytes read as they come.
func (ch *Channel) spoolFrom(src net.Conn, spool *inspect.Spool, buf *[hashBufSize]byte, live *counter) (int64, []byte, error) {
	h := sha256.New()
	in, err := io.CopyBuffer(io.MultiWriter(spool, h, live), onlyReader{src}, buf[:])
	ch.mu.Lock()
	ch.res.Received = in
	ch.mu.Unlock()
	if errors.Is(err, inspect.ErrTooLarge) {
		ch.verdicts([]inspect.Verdict{{Hook: "spool", Reason: err.Error(), Failed: true}}, false)
		err = fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return in, h.Sum(nil), err
}

// judge runs the hooks on the spooled object and records their verdicts; it reports
// whether the object may pass. observed says the bytes have passed already.
func (ch *Channel) judge(ctx context.Context, spool *inspect.Spool, size int64, sum []byte, fail inspect.Fail, observed bool) bool {
	ch.mu.Lock()
	obj := ch.obj
	obj.TLSClient, obj.TLSServer = ch.res.TLS[ClientLeg].Desc, ch.res.TLS[ServerLeg].Desc
	ch.mu.Unlock()
	obj.Size, obj.SHA256 = size, hex.EncodeToString(sum)
	vs, allow := inspect.Decide(ctx, ch.set.cfg.Inspect.Hooks, fail, &obj, spool)
	ch.verdicts(vs, allow || observed)
	return allow
}

// verdicts records the hooks' verdicts and whether the object passed.
func (ch *Channel) verdicts(vs []inspect.Verdict, passed bool) {
	ch.mu.Lock()
	ch.res.Verdicts, ch.res.Refused = vs, !passed
	ch.mu.Unlock()
	for _, v := range vs {
		ch.set.log.Info("inspection verdict", "hook", v.Hook, "allow", v.Allow, "reason", v.Reason, "failed", v.Failed)
	}
}

// onlyWriter hides a writer's ReaderFrom, so that io.CopyBuffer uses the buffer it is
// given.
type onlyWriter struct{ io.Writer }
