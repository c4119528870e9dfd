package pktfilter

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// reader is one bound queue. Its packets are handled one at a time, in the order the kernel
// queued them, by the reader's goroutine.
//
// Verdicts are batched: a packet that simply passes is not answered at once while more
// packets wait in the socket; one NFQNL_MSG_VERDICT_BATCH then lets pass every packet up to
// the last of them. A batch covers all packets with lower ids still queued, so while a
// packet waits for the rate cap, or is held by its judge until the bytes before it came,
// every verdict is sent on its own.
type reader struct {
	q      *Queue
	nfq    queueConn
	num    uint16
	bypass bool
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu         sync.Mutex // guards the fields below and orders verdicts
	pending    bool       // accepts not sent yet, up to pendingMax
	pendingMax uint32
	delayed    int // packets waiting for the rate cap or held by a judge (Hold)
	closed     bool
	timers     map[*time.Timer]delayed
	holds      map[*entry]*time.Timer // entries whose judges hold packets: their expiry
	lastWarn   time.Time              // of a receive error, to log them once a minute
	releaseBy  time.Time              // when the last packet held back by the rate cap passes
}

// queueConn is a bound queue's socket as the reader uses it (*nfq; a fake in tests).
type queueConn interface {
	// recv reads one message into buf.
	recv(buf []byte) (int, error)
	// pending reports whether more messages wait in the socket.
	pending() bool
	// verdict gives packet id the verdict (with a new packet when pkt is not nil); batch
	// gives it to every packet up to id still queued.
	verdict(id uint32, verdict uint32, batch bool, pkt []byte) error
	close() error
}

// delayed is a packet waiting for the rate cap.
type delayed struct {
	id  uint32
	pkt []byte
}

// recvBuffer holds one packet message: a GSO packet of up to 64 KiB and its attributes.
const recvBuffer = 128 << 10

// run reads the queue until it is closed.
func (r *reader) run() {
	defer close(r.done)
	buf := make([]byte, recvBuffer)
	for {
		n, err := r.nfq.recv(buf)
		if err != nil {
			if r.ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return
			}
			r.failed(err)
			continue
		}
		if id, payload, ok := packet(buf[:n]); ok {
			r.handle(id, payload)
		}
	}
}

// failed logs a receive error (ENOBUFS: the socket overflowed and packets were dropped, or
// passed unjudged with bypass), at most once a minute.
func (r *reader) failed(err error) {
	r.mu.Lock()
	warn := time.Since(r.lastWarn) > time.Minute
	if warn {
		r.lastWarn = time.Now()
	}
	r.mu.Unlock()
	if warn {
		r.q.log.Warn("packet filter: reading the queue", "queue", r.num, "err", err.Error())
	}
	if !errors.Is(err, syscall.ENOBUFS) {
		time.Sleep(10 * time.Millisecond) // no busy loop on a persistent error
	}
}

// handle judges one packet.
func (r *reader) handle(id uint32, raw []byte) {
	now := time.Now()
	var (
		e *entry
		d Dir
	)
	p, err := Parse(raw)
	if err == nil {
		e, d = r.q.lookup(&p)
	}
	if e == nil {
		if o := r.q.cfg.Observe; o != nil {
			o.Unknown(r.bypass)
		}
		if r.bypass {
			r.accept(id)
		} else {
			r.send(id, verdictDrop, nil)
		}
		return
	}
	v := e.j.judgeParsed(r.ctx, &p, id, d, now)
	if v.Action == Hold {
		r.hold(e)
		return
	}
	r.judged(e, v, len(p.Raw)-p.PayloadOff, now)
	r.apply(id, v, e)
	r.release(e, v.Then)
}

// judged records the verdict v on a packet of payload bytes that came at arrived.
func (r *reader) judged(e *entry, v Verdict, payload int, arrived time.Time) {
	hold := time.Since(arrived) + v.Delay
	e.j.held(hold)
	if o := r.q.cfg.Observe; o != nil {
		o.Judged(v.Action, payload, hold)
	}
}

// apply sends the verdict v on packet id.
func (r *reader) apply(id uint32, v Verdict, e *entry) {
	switch {
	case v.Action == Stop:
		e.once.Do(func() { e.onStop(v.Reason) }) // before the receiver learns it
		r.send(id, verdictDrop, nil)
		r.mu.Lock()
		r.flushLocked() // the packets before it reach the receiver before its reset
		r.mu.Unlock()
		r.resetAfterDelays(v.Packet)
	case v.Action == Drop:
		r.send(id, verdictDrop, nil)
	case v.Delay > 0:
		var pkt []byte
		if v.Action == Rewrite {
			pkt = append([]byte(nil), v.Packet...) // the read buffer is reused
		}
		r.delay(id, v.Delay, pkt)
	case v.Action == Rewrite:
		r.send(id, verdictAccept, v.Packet)
	default:
		r.accept(id)
	}
}

// accept lets packet id pass: batched with the next ones while more wait in the socket.
func (r *reader) accept(id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.delayed > 0 {
		r.verdictLocked(id, verdictAccept, nil)
		return
	}
	r.pending, r.pendingMax = true, id
	if !r.nfq.pending() {
		r.flushLocked()
	}
}

// send gives packet id the verdict at once (a new packet when pkt is not nil).
func (r *reader) send(id uint32, verdict uint32, pkt []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verdictLocked(id, verdict, pkt)
	if !r.nfq.pending() {
		r.flushLocked()
	}
}

// resetAfterDelays sends a stopped transfer's reset once the packets the rate cap holds
// back have passed (the batch of accepted ones was sent already): a reset that overtook
// them would not be in sequence at the receiver, which ignores it.
func (r *reader) resetAfterDelays(pkt []byte) {
	r.mu.Lock()
	wait := time.Until(r.releaseBy)
	r.mu.Unlock()
	if wait <= 0 {
		r.q.reset(pkt)
		return
	}
	time.AfterFunc(wait+5*time.Millisecond, func() { r.q.reset(pkt) })
}

// delay lets packet id pass after wait (with the new packet pkt when not nil).
func (r *reader) delay(id uint32, wait time.Duration, pkt []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at := time.Now().Add(wait); at.After(r.releaseBy) {
		r.releaseBy = at
	}
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
		r.verdictLocked(id, verdictAccept, pkt)
	})
	r.timers[t] = delayed{id: id, pkt: pkt}
}

// flushLocked sends the pending batch of accepts.
func (r *reader) flushLocked() {
	if !r.pending || r.closed {
		return
	}
	r.pending = false
	if err := r.nfq.verdict(r.pendingMax, verdictAccept, true, nil); err != nil {
		r.q.log.Warn("packet filter: batch verdict", "queue", r.num, "err", err.Error())
	}
}

// verdictLocked sends one verdict.
func (r *reader) verdictLocked(id uint32, verdict uint32, pkt []byte) {
	if r.closed {
		return
	}
	if err := r.nfq.verdict(id, verdict, false, pkt); err != nil {
		r.q.log.Warn("packet filter: verdict", "queue", r.num, "err", err.Error())
	}
}

// close sends what is pending, lets the delayed packets pass now (a closing queue drops what
// it holds) and lets go of the socket.
func (r *reader) close() error {
	r.mu.Lock()
	r.flushLocked()
	for t, d := range r.timers {
		if t.Stop() {
			r.verdictLocked(d.id, verdictAccept, d.pkt)
		}
	}
	r.closeHoldsLocked()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	err := r.nfq.close() // ends the reader's wait
	<-r.done
	return err
}
