package pktfilter

import (
	"time"
)

// hold notes that e's judge holds a packet back (Verdict Hold) and makes sure its expiry
// comes: no batch may cover the packet until its verdict is given.
func (r *reader) hold(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked() // the packets before it, not it
	r.delayed++
	if r.closed || r.holds[e] != nil {
		return // the armed timer sees this packet too
	}
	if r.holds == nil {
		r.holds = map[*entry]*time.Timer{}
	}
	r.holds[e] = time.AfterFunc(e.j.Settings().Timeout, func() { r.expire(e) })
}

// release gives the verdicts on packets that e's judge held back. Each still counts as
// delayed while its verdict goes out, so that it gets a verdict of its own: a batch up to
// its id could miss packets with higher ids accepted meanwhile.
func (r *reader) release(e *entry, rels []Released) {
	for _, rel := range rels {
		r.judged(e, rel.Verdict, rel.Payload, rel.Arrived)
		r.apply(rel.ID, rel.Verdict, e)
		r.mu.Lock()
		r.delayed--
		r.mu.Unlock()
	}
}

// expire gives their verdicts to e's held packets that waited their bound, and arms the
// timer again while the judge holds more.
func (r *reader) expire(e *entry) {
	rels, _ := e.j.Expire(r.ctx, time.Now())
	r.release(e, rels)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	// Asked under r.mu: a packet held after this is seen here, or arms a new timer.
	next := e.j.NextExpiry()
	if next.IsZero() {
		delete(r.holds, e)
		return
	}
	r.holds[e] = time.AfterFunc(time.Until(next), func() { r.expire(e) })
}

// closeHoldsLocked gives every held packet its verdict as the queue closes: under Bypass
// their gaps are let go and they are judged; fail-closed they are dropped.
func (r *reader) closeHoldsLocked() {
	for e, t := range r.holds {
		t.Stop()
		rels, _ := e.j.expire(r.ctx, time.Now(), true)
		for _, rel := range rels {
			r.delayed--
			switch rel.Verdict.Action {
			case Accept:
				r.verdictLocked(rel.ID, verdictAccept, nil)
			case Rewrite:
				r.verdictLocked(rel.ID, verdictAccept, rel.Verdict.Packet)
			default:
				r.verdictLocked(rel.ID, verdictDrop, nil)
			}
		}
	}
	r.holds = nil
}
