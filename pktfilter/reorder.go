package pktfilter

import (
	"context"
	"time"
)

// A packet beyond missing bytes (a gap) is held back, its verdict not given, until the bytes
// before it have passed: then it is judged in order. Packets of one connection reach the
// queue out of order all the time on a box with several CPUs (two segments sent from two
// CPUs are forwarded by each CPU's backlog), one GSO packet apart and for some tens of
// microseconds. Dropping the early one made TCP take a retransmission timeout (about 200 ms)
// each time, as the receiver saw nothing after the gap to acknowledge selectively.
//
// A held packet waits at most Settings.Timeout. Then, fail-closed, it is dropped (its bytes
// come again); under Bypass the gap is let go (its bytes passed unjudged, as when the queue
// was full) and the held packets are judged from there.

// maxHeldBytes and maxHeldPackets bound the packets one stream holds back (whole packets,
// headers included): they are kept in sequence order by insertion, so their number is
// bounded too, whatever their size.
const (
	maxHeldBytes   = 4 << 20
	maxHeldPackets = 1024
)

// Released is a held packet's verdict, once given.
type Released struct {
	// ID is the packet's tag as given to Judge (its queue id).
	ID uint32
	// Arrived is when the packet came; Payload its payload bytes.
	Arrived time.Time
	Payload int
	Verdict Verdict
}

// heldPacket is a packet a stream holds back: a copy, since the caller's buffer is reused.
type heldPacket struct {
	id  uint32
	raw []byte
	seq uint32
	n   int // payload bytes
	at  time.Time
}

// hold keeps a copy of packet p (tag id, payload n bytes) in sequence order; false when the
// stream holds too much already.
func (st *stream) hold(p *Packet, id uint32, n int, now time.Time) bool {
	if st.heldBytes+len(p.Raw) > maxHeldBytes || len(st.held) >= maxHeldPackets {
		return false
	}
	h := heldPacket{id: id, raw: append([]byte(nil), p.Raw...), seq: p.Seq, n: n, at: now}
	i := len(st.held)
	for i > 0 && int32(st.held[i-1].seq-h.seq) > 0 {
		i--
	}
	st.held = append(st.held, heldPacket{})
	copy(st.held[i+1:], st.held[i:])
	st.held[i] = h
	st.heldBytes += len(h.raw)
	return true
}

// oldest is when the packet held longest came (the stream holds one at least).
func (st *stream) oldest() time.Time {
	at := st.held[0].at
	for _, h := range st.held[1:] {
		if h.at.Before(at) {
			at = h.at
		}
	}
	return at
}

// unhold takes the stream's first held packet out.
func (st *stream) unhold() heldPacket {
	h := st.held[0]
	st.held[0] = heldPacket{}
	st.held = st.held[1:]
	st.heldBytes -= len(h.raw)
	return h
}

// gapLocked handles a packet beyond bytes not seen yet (sg.gap > 0): it is held until they
// come (Hold); or, when it cannot be, dropped (fail-closed, or beyond the filter's own
// drops) or let go of the gap (Bypass), then it is Accept with the packet's new segment and
// the verdicts of held packets let go first.
func (j *Judge) gapLocked(ctx context.Context, p *Packet, id uint32, d Dir, sg segment, now time.Time) (Verdict, segment, []Released) {
	st := j.streams[d]
	var then []Released
	if !st.ownGap() {
		if st.hold(p, id, sg.size, now) {
			j.stats.Reordered++
			return Verdict{Action: Hold}, sg, nil
		}
		// The stream holds too much: under Bypass the held packets go first, their gaps let
		// go, so that no byte passes as judged before that was not.
		for j.s.Bypass && len(st.held) > 0 {
			then = j.giveUpLocked(ctx, d, now, then)
		}
		if sg = st.place(p.Seq, sg.size); sg.gap == 0 {
			return Verdict{Action: Accept}, sg, then
		}
	}
	if !j.s.Bypass || st.ownGap() {
		st.drop(p.Seq, sg.size)
		j.stats.OutOfOrder++
		j.stats.Dropped++
		return Verdict{Action: Drop, Then: then}, sg, nil // TCP sends the missing bytes again, then this
	}
	j.stats.Unjudged += sg.gap
	st.skip(sg)
	return Verdict{Action: Accept}, st.place(p.Seq, sg.size), then
}

// releaseLocked judges the held packets of direction d that are in order now, and drops
// those that can no longer pass: after a stop, or beyond bytes the filter dropped.
func (j *Judge) releaseLocked(ctx context.Context, d Dir, now time.Time, out []Released) []Released {
	st := j.streams[d]
	for len(st.held) > 0 {
		h := st.held[0]
		sg := st.place(h.seq, h.n)
		if sg.gap > 0 && j.stats.Stopped == "" && !st.ownGap() {
			break // still waiting
		}
		st.unhold()
		r := Released{ID: h.id, Arrived: h.at, Payload: h.n}
		switch {
		case j.stats.Stopped != "":
			j.stats.Dropped++
			r.Verdict = Verdict{Action: Drop}
		case sg.gap > 0: // beyond the filter's own drop
			st.drop(h.seq, h.n)
			j.stats.OutOfOrder++
			j.stats.Dropped++
			r.Verdict = Verdict{Action: Drop}
		default:
			p, err := Parse(h.raw)
			if err != nil { // it parsed when it came
				r.Verdict = j.failure()
				break
			}
			r.Verdict = j.judgePayload(ctx, &p, p.Payload(), d, sg, now)
		}
		out = append(out, r)
	}
	return out
}

// Expire gives their verdicts to the held packets that waited their bound by now: dropped
// fail-closed; under Bypass their gap is let go and they are judged. It returns the
// verdicts, and when it must be called again (zero: nothing is held).
func (j *Judge) Expire(ctx context.Context, now time.Time) ([]Released, time.Time) {
	return j.expire(ctx, now, false)
}

// expire is Expire; all gives every held packet its verdict, whether its bound ended or not
// (the queue closes).
func (j *Judge) expire(ctx context.Context, now time.Time, all bool) ([]Released, time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Released
	for d, st := range j.streams {
		for len(st.held) > 0 && (all || !now.Before(st.oldest().Add(j.s.Timeout))) {
			out = j.giveUpLocked(ctx, Dir(d), now, out)
		}
	}
	return out, j.nextExpiryLocked()
}

// giveUpLocked stops waiting for the gap before direction d's first held packet: under
// Bypass the gap is let go, else the packet is dropped; then what is in order is released.
func (j *Judge) giveUpLocked(ctx context.Context, d Dir, now time.Time, out []Released) []Released {
	st := j.streams[d]
	h := st.held[0]
	if sg := st.place(h.seq, h.n); sg.gap > 0 && j.s.Bypass && j.stats.Stopped == "" {
		j.stats.Unjudged += sg.gap
		st.skip(sg)
	} else if sg.gap > 0 {
		st.unhold()
		st.drop(h.seq, h.n)
		j.stats.OutOfOrder++
		j.stats.Dropped++
		out = append(out, Released{ID: h.id, Arrived: h.at, Payload: h.n, Verdict: Verdict{Action: Drop}})
	}
	return j.releaseLocked(ctx, d, now, out)
}

// NextExpiry is when Expire must be called next (zero: no packet is held).
func (j *Judge) NextExpiry() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.nextExpiryLocked()
}

// nextExpiryLocked is when the first held packet's bound ends (zero: none is held).
func (j *Judge) nextExpiryLocked() time.Time {
	var next time.Time
	for _, st := range j.streams {
		if len(st.held) > 0 {
			if at := st.oldest().Add(j.s.Timeout); next.IsZero() || at.Before(next) {
				next = at
			}
		}
	}
	return next
}
