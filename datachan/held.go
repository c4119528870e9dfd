package datachan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/wire"
)

// ErrNotReleased ends a held upload whose object was refused, or whose server leg never
// came up after the release.
var ErrNotReleased = errors.New("datachan: held upload not released to the server")

// ActivateHeld starts an upload that the server must not see before the hooks allowed it
// (inspect mode for uploads): only the client leg connects; the channel reads the whole
// object into a spool, lets the hooks judge it and calls judged with the outcome (from the
// channel's goroutine). The session then forwards the transfer command and calls Release,
// or answers the client itself. judged gets allowed false and the error when the client's
// upload failed.
//
// In the keep modes the server leg may be connected already (it connects when the client's
// data connection arrives, before the command): the server does not accept it before it
// has the command, so it is kept and used after the release.
func (ch *Channel) ActivateHeld(judged func(allowed bool, err error)) {
	ch.mu.Lock()
	ch.dir, ch.activated = wire.Upload, true
	h := &heldUpload{judged: judged, released: make(chan struct{}), serverUp: make(chan struct{})}
	ch.held = h
	if ch.conns[ServerLeg] != nil {
		h.upOnce.Do(func() { close(h.serverUp) })
	}
	ch.mu.Unlock()
	ch.dialPending()
	ch.join()
}

// Release lets a held upload go to the server: its server leg connects, and the spooled
// object is written to it. Call it once the server has the transfer command.
func (ch *Channel) Release() {
	ch.mu.Lock()
	h := ch.held
	ch.mu.Unlock()
	if h == nil {
		return
	}
	h.releaseOnce.Do(func() { close(h.released) })
	ch.dialPending()
}

// heldUpload is the state of an upload held back from the server (ActivateHeld).
type heldUpload struct {
	judged      func(allowed bool, err error)
	released    chan struct{} // closed by Release
	releaseOnce sync.Once
	serverUp    chan struct{} // closed when the server leg is connected
	upOnce      sync.Once
	done        bool // the object was written to the server leg whole (carryHeld's)
}

// mayHold reports whether the channel's transfer may turn out to be a held upload (the
// session inspects uploads) and is not activated yet.
func (ch *Channel) mayHold() bool {
	s := ch.set.cfg.Inspect
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return s != nil && s.Upload == inspect.ModeInspect && !ch.activated
}

// holdsServer reports whether the server leg of a held upload must wait (mu held).
func (ch *Channel) holdsServer() bool {
	if ch.held == nil {
		return false
	}
	select {
	case <-ch.held.released:
		return false
	default:
		return true
	}
}

// carryHeld reads the client's upload into the spool, has it judged, and, once released,
// writes it to the server leg when that comes up.
func (ch *Channel) carryHeld(ctx context.Context, cc net.Conn) error {
	h := ch.held
	cfg := ch.set.cfg.Inspect
	spool := inspect.NewSpool(cfg.SpoolDir, cfg.SpoolMemory, cfg.MaxSize)
	defer spool.Close()
	defer ch.resetServer() // a server leg this path did not finish must not look like an empty upload
	stop := context.AfterFunc(ctx, func() { cc.Close() })
	defer stop()
	buf := hashBufs.Get().(*[hashBufSize]byte)
	defer hashBufs.Put(buf)
	in, sum, err := ch.spoolFrom(cc, spool, buf, ch.meter.way(true))
	if err != nil {
		abort(cc)
		ch.half(false, 0, nil)
		ch.half(true, 0, nil)
		h.judged(false, err)
		return err
	}
	cc.Close() // the client's part is over: its data connection closes
	ch.half(false, 0, nil)
	allowed := ch.judge(ctx, spool, in, sum, cfg.Fail, false)
	h.judged(allowed, nil)
	if !allowed {
		ch.half(true, 0, nil)
		return ErrRefused
	}
	sc, err := ch.waitServer(ctx, h)
	if err != nil {
		ch.half(true, 0, nil)
		return err
	}
	out, err := io.CopyBuffer(onlyWriter{sc}, spool.Reader(), buf[:])
	if err != nil {
		abort(sc)
	} else {
		closeWrite(sc)
		h.done = true
	}
	ch.half(true, out, sum)
	if err == nil {
		err = drainServer(sc)
	}
	sc.Close()
	return err
}

// drainBound bounds how long a released upload waits for the server to close its data
// connection.
const drainBound = 10 * time.Second

// drainServer reads the server leg of a released upload until the server closes it, so
// that closing it ourselves never resets it: what the server sent unasked (a TLS 1.3
// server's session tickets) would otherwise still be unread, the close would send a reset,
// and a server that had not read the whole upload yet would lose its end (vsftpd: "426
// Failure reading network stream"). A byte of data the wrong way is an error.
func drainServer(sc net.Conn) error {
	sc.SetReadDeadline(time.Now().Add(drainBound))
	// EOF, a reset or the deadline all end the wait: the server's final reply tells how
	// the upload ended for it.
	var one [1]byte
	if n, _ := sc.Read(one[:]); n > 0 {
		return fmt.Errorf("%w: the server sent data on an upload", ErrWrongDirection)
	}
	return nil
}

// resetServer resets a held upload's server leg unless the object was written to it whole.
func (ch *Channel) resetServer() {
	ch.mu.Lock()
	sc, done := ch.conns[ServerLeg], ch.held.done
	ch.mu.Unlock()
	if sc != nil && !done {
		abort(sc)
	}
}

// waitServer waits for a held upload's release and its server leg, bounded by ctx and the
// connect timeout after the release.
func (ch *Channel) waitServer(ctx context.Context, h *heldUpload) (net.Conn, error) {
	select {
	case <-h.released:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t := time.NewTimer(ch.set.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-h.serverUp:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, ErrNotReleased
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.conns[ServerLeg], nil
}
