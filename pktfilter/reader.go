package pktfilter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"golang.org/x/sys/unix"
)

// reader is one bound queue. Its packets are handled one at a time, in the order the kernel
// queued them, by go-nfqueue's goroutine.
//
// Verdicts are batched: a packet that simply passes is not answered at once while more
// packets wait in the socket; one NFQNL_MSG_VERDICT_BATCH then lets pass every packet up to
// the last of them. A batch covers all packets with lower ids still queued, so while a
// packet waits for the rate cap (delayed) every verdict is sent on its own.
type reader struct {
	q      *Queue
	nf     *nfqueue.Nfqueue
	raw    syscall.RawConn
	num    uint16
	bypass bool
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex // guards the fields below and orders verdicts
	pending    bool       // accepts not sent yet, up to pendingMax
	pendingMax uint32
	delayed    int // packets waiting for the rate cap
	closed     bool
	timers     map[*time.Timer]delayed
}

// delayed is a packet waiting for the rate cap.
type delayed struct {
	id  uint32
	pkt []byte
}

// tune gives the socket a receive buffer for bursts of GSO packets (beyond rmem_max: root
// may) and keeps its raw connection for peeking.
func (r *reader) tune() error {
	raw, err := r.nf.Con.SyscallConn()
	if err != nil {
		return err
	}
	r.raw = raw
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, readBuffer)
	}); err != nil {
		return err
	}
	if serr != nil { // without CAP_NET_ADMIN: what rmem_max allows
		return r.nf.Con.SetReadBuffer(readBuffer)
	}
	return nil
}

// moreWaiting reports whether another packet waits in the socket already.
func (r *reader) moreWaiting() bool {
	more := false
	var b [1]byte
	r.raw.Control(func(fd uintptr) {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		more = err == nil && n > 0
	})
	return more
}

// handle judges one packet (go-nfqueue's hook); it always goes on reading.
func (r *reader) handle(a nfqueue.Attribute) int {
	now := time.Now()
	if a.PacketID == nil {
		return 0
	}
	id := *a.PacketID
	var (
		e *entry
		d Dir
		p Packet
	)
	if a.Payload != nil {
		var err error
		if p, err = Parse(*a.Payload); err == nil {
			e, d = r.q.lookup(&p)
		}
	}
	if e == nil {
		if o := r.q.cfg.Observe; o != nil {
			o.Unknown(r.bypass)
		}
		if r.bypass {
			r.accept(id)
		} else {
			r.send(id, nfqueue.NfDrop, nil)
		}
		return 0
	}
	ctx, cancel := context.WithDeadline(r.ctx, now.Add(e.j.s.Timeout))
	v := e.j.judgeParsed(ctx, &p, d, now)
	cancel()
	hold := time.Since(now) + v.Delay
	e.j.held(hold)
	if o := r.q.cfg.Observe; o != nil {
		o.Judged(v.Action, len(p.Raw)-p.PayloadOff, hold)
	}
	r.apply(id, v, e)
	return 0
}

// apply sends the verdict v on packet id.
func (r *reader) apply(id uint32, v Verdict, e *entry) {
	switch {
	case v.Action == Stop:
		e.once.Do(func() { e.onStop(v.Reason) }) // before the receiver learns it
		r.send(id, nfqueue.NfDrop, nil)
		r.q.reset(v.Packet)
	case v.Action == Drop:
		r.send(id, nfqueue.NfDrop, nil)
	case v.Delay > 0:
		var pkt []byte
		if v.Action == Rewrite {
			pkt = append([]byte(nil), v.Packet...) // the read buffer is reused
		}
		r.delay(id, v.Delay, pkt)
	case v.Action == Rewrite:
		r.send(id, nfqueue.NfAccept, v.Packet)
	default:
		r.accept(id)
	}
}

// accept lets packet id pass: batched with the next ones while more wait in the socket.
func (r *reader) accept(id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.delayed > 0 {
		r.verdictLocked(id, nfqueue.NfAccept, nil)
		return
	}
	r.pending, r.pendingMax = true, id
	if !r.moreWaiting() {
		r.flushLocked()
	}
}

// send gives packet id the verdict at once (a new payload when pkt is not nil).
func (r *reader) send(id uint32, verdict int, pkt []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verdictLocked(id, verdict, pkt)
	if !r.moreWaiting() {
		r.flushLocked()
	}
}

// delay lets packet id pass after wait (with the new payload pkt when not nil).
func (r *reader) delay(id uint32, wait time.Duration, pkt []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked() // the batch must not cover the delayed packet
	r.delayed++
	if r.timers == nil {
		r.timers = map[*time.Timer]delayed{}
	}
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.timers, t)
		r.delayed--
		r.verdictLocked(id, nfqueue.NfAccept, pkt)
	})
	r.timers[t] = delayed{id: id, pkt: pkt}
}

// flushLocked sends the pending batch of accepts.
func (r *reader) flushLocked() {
	if !r.pending || r.closed {
		return
	}
	r.pending = false
	if err := r.nf.SetVerdictBatch(r.pendingMax, nfqueue.NfAccept); err != nil {
		r.q.log.Warn("packet filter: batch verdict", "queue", r.num, "err", err.Error())
	}
}

// verdictLocked sends one verdict.
func (r *reader) verdictLocked(id uint32, verdict int, pkt []byte) {
	if r.closed {
		return
	}
	var err error
	if pkt != nil {
		err = r.nf.SetVerdictModPacket(id, verdict, pkt)
	} else {
		err = r.nf.SetVerdict(id, verdict)
	}
	if err != nil {
		r.q.log.Warn("packet filter: verdict", "queue", r.num, "err", err.Error())
	}
}

// failed is go-nfqueue's error hook: it logs and goes on reading, unless the queue closes.
func (r *reader) failed(err error) int {
	if r.ctx.Err() != nil {
		return 1
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0
	}
	r.q.log.Warn("packet filter: reading the queue", "queue", r.num, "err", err.Error())
	return 0
}

// close sends what is pending, ends the delays (their packets pass now: a closing queue
// drops what it holds) and lets go of the socket.
func (r *reader) close() error {
	r.mu.Lock()
	r.flushLocked()
	for t, d := range r.timers {
		if t.Stop() {
			r.verdictLocked(d.id, nfqueue.NfAccept, d.pkt)
		}
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	if err := r.nf.Close(); err != nil {
		return fmt.Errorf("pktfilter: close queue %d: %w", r.num, err)
	}
	return nil
}
