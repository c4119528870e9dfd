package pktfilter

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Dir is a packet's direction in its connection, as conntrack names it.
type Dir int

// The directions.
const (
	Original Dir = 0 // from the side that connected
	Reply    Dir = 1 // toward it
)

// Verdict is what becomes of one packet.
type Verdict struct {
	Action Action
	// Packet is the whole packet with its new payload and checksum (Rewrite), or the TCP
	// reset that goes on in its place (Stop).
	Packet []byte
	// Delay is how long the packet waits before it passes (the rate cap; Accept, Rewrite).
	Delay time.Duration
	// Reason says why the transfer stopped (Stop).
	Reason string
	// Then are verdicts on packets held back before (Hold) that this one let go, in the
	// order they must be given, after this packet's.
	Then []Released
}

// maxCallbackTimeouts is how many callback timeouts in a row a channel takes before its
// callback is left out (Bypass) or its transfer stopped.
const maxCallbackTimeouts = 3

// Judge judges the packets of one queued connection. It is safe for concurrent use; the
// queue calls Judge from one goroutine per queue.
type Judge struct {
	s Settings

	mu       sync.Mutex
	meta     Meta
	toClient [2]bool // per Dir: the direction travels toward the FTP client
	data     Dir     // the transfer's direction, once known (haveData)
	haveData bool
	streams  [2]*stream
	bucket   *Bucket
	stats    Stats
	timeouts int  // callback timeouts in a row
	noCall   bool // the callback is left out (Bypass, after maxCallbackTimeouts)
}

// NewJudge returns the judge of one connection under s (with defaults applied); the side
// that connects is the FTP client when srcIsClient (passive mode), else the server. digest
// asks for the SHA-256 of the data direction's bytes.
func NewJudge(s Settings, meta Meta, srcIsClient, digest bool) *Judge {
	s = s.WithDefaults()
	j := &Judge{s: s, meta: meta}
	j.toClient = [2]bool{!srcIsClient, srcIsClient}
	proto := s.matcher
	if proto == nil {
		proto = NewMatcher(s.Patterns)
	}
	for d := range j.streams {
		j.streams[d] = newStream(proto.Clone(), digest)
	}
	if s.MaxRate > 0 {
		j.bucket = NewBucket(s.MaxRate, max(s.MaxRate/4, 2*65536))
	}
	return j
}

// Settings returns the judge's settings, defaults applied.
func (j *Judge) Settings() Settings { return j.s }

// Transfer records the transfer command that uses the connection: its metadata for the
// callback, and the direction its bytes take (toClient: a download). Size and rate caps
// count that direction from now on.
func (j *Judge) Transfer(meta Meta, toClient bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.meta = meta
	j.data, j.haveData = Original, true
	if j.toClient[Reply] == toClient {
		j.data = Reply
	}
}

// DataDir returns the direction the transfer's bytes take, and whether it is known yet.
func (j *Judge) DataDir() (Dir, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.data, j.haveData
}

// failure is the verdict when the filter cannot judge a packet: it passes under Bypass
// (fail-open) and is dropped otherwise.
func (j *Judge) failure() Verdict {
	if j.s.Bypass {
		j.stats.Accepted++
		return Verdict{Action: Accept}
	}
	j.stats.Dropped++
	return Verdict{Action: Drop}
}

// stop ends the transfer for reason: packet p goes on as a TCP reset, so that its receiver
// learns it at once.
func (j *Judge) stop(p *Packet, reason string) Verdict {
	j.stats.Dropped++
	if j.stats.Stopped == "" {
		j.stats.Stopped = reason
	}
	return Verdict{Action: Stop, Reason: reason, Packet: Reset(p)}
}

// Judge decides on one packet of direction d, raw from its IP header, that arrived at now;
// ctx bounds a callback (the queue gives it the packet's deadline). A rewrite changes raw
// in place and returns it as Verdict.Packet. A packet beyond bytes not seen yet is held
// (Hold, a copy kept): its verdict comes later, under tag id, in Verdict.Then of the packet
// that fills the gap, or from Expire.
func (j *Judge) Judge(ctx context.Context, raw []byte, id uint32, d Dir, now time.Time) Verdict {
	p, err := Parse(raw)
	if err != nil {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.stats.Packets++
		j.stats.Unparsed++
		return j.failure()
	}
	return j.judgeParsed(ctx, &p, id, d, now)
}

// judgeParsed is Judge for a parsed packet.
func (j *Judge) judgeParsed(ctx context.Context, p *Packet, id uint32, d Dir, now time.Time) Verdict {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stats.Packets++
	if j.stats.Stopped != "" {
		j.stats.Dropped++
		return Verdict{Action: Drop}
	}
	st := j.streams[d]
	if p.Flags&FlagSYN != 0 {
		st.syn(p.Seq)
	}
	payload := p.Payload()
	switch {
	case p.Flags&FlagRST != 0:
		st.ended = true
	case p.Flags&FlagFIN != 0:
		st.fin(p.Seq + uint32(len(payload)))
	}
	if len(payload) == 0 || p.Flags&FlagRST != 0 {
		j.stats.Accepted++
		return Verdict{Action: Accept}
	}
	j.stats.Bytes += int64(len(payload))
	sg := st.place(p.Seq, len(payload))
	var then []Released
	if sg.gap > 0 {
		var v Verdict
		if v, sg, then = j.gapLocked(ctx, p, id, d, sg, now); v.Action != Accept {
			return v
		}
	}
	v := j.judgePayload(ctx, p, payload, d, sg, now)
	v.Then = then
	if len(st.held) > 0 {
		v.Then = j.releaseLocked(ctx, d, now, v.Then)
	}
	return v
}

// judgePayload applies the caps, the callback and the patterns to a packet with payload.
// Bytes judged before (a retransmission) pass as they passed then; only the new ones meet
// the caps, the callback and the patterns.
func (j *Judge) judgePayload(ctx context.Context, p *Packet, payload []byte, d Dir, sg segment, now time.Time) Verdict {
	st := j.streams[d]
	old, fresh := payload[:sg.old], payload[sg.old:]
	rewritten := st.repeat(sg.off, old)
	var wait time.Duration
	if len(fresh) > 0 && (!j.haveData || d == j.data) {
		if j.s.MaxSize > 0 && st.nextOff+int64(len(fresh)) > j.s.MaxSize {
			return j.stop(p, fmt.Sprintf("size cap: more than %d bytes", j.s.MaxSize))
		}
		if j.bucket != nil {
			var ok bool
			if wait, ok = j.bucket.Take(now, len(fresh), j.s.Timeout); !ok {
				j.stats.RateDropped++
				j.stats.Dropped++
				st.drop(p.Seq, len(payload))
				return Verdict{Action: Drop}
			}
		}
	}
	var dec Decision
	if len(fresh) > 0 {
		var (
			v    Verdict
			done bool
		)
		if dec, v, done = j.call(ctx, p, fresh, d, sg.off+int64(sg.old)); done {
			if v.Action == Drop {
				st.drop(p.Seq, len(payload))
			}
			return v
		}
		if m, found := st.matcher.Scan(fresh); found {
			return j.stop(p, fmt.Sprintf("pattern %q at byte %d", m.Name, m.Offset))
		}
	}
	if dec.Action == Rewrite {
		copy(fresh, dec.Data)
		st.remember(sg.off+int64(sg.old), dec.Data)
		rewritten = true
	}
	st.advance(fresh)
	if wait > 0 {
		j.stats.Delayed++
	}
	if !rewritten {
		j.stats.Accepted++
		return Verdict{Action: Accept, Delay: wait}
	}
	p.FixChecksum()
	j.stats.Rewritten++
	return Verdict{Action: Rewrite, Packet: p.Raw, Delay: wait}
}

// call asks the callback about the new bytes fresh at stream offset off. done says its
// decision is the verdict (a drop, a stop, or a failure the settings turn into one);
// otherwise dec is Accept or Rewrite (with a copy of the new bytes).
func (j *Judge) call(ctx context.Context, p *Packet, fresh []byte, d Dir, off int64) (dec Decision, v Verdict, done bool) {
	cb := j.s.Callback
	if cb == nil || j.noCall {
		return Decision{Action: Accept}, Verdict{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, j.s.Timeout)
	defer cancel()
	dec, err := cb.Packet(ctx, &CallbackPacket{Data: fresh, Offset: off, ToClient: j.toClient[d], Meta: j.meta})
	if err == nil && dec.Action == Rewrite && len(dec.Data) != len(fresh) {
		err = fmt.Errorf("pktfilter: callback %s changed a payload's length from %d to %d bytes", cb.Name(), len(fresh), len(dec.Data))
	}
	if err != nil {
		return Decision{Action: Accept}, j.callFailed(p, cb.Name(), err), !j.s.Bypass
	}
	j.timeouts = 0
	switch dec.Action {
	case Drop:
		j.stats.Dropped++
		return dec, Verdict{Action: Drop}, true
	case Stop:
		reason := dec.Reason
		if reason == "" {
			reason = "stopped by " + cb.Name()
		}
		return dec, j.stop(p, reason), true
	case Rewrite:
		if bytes.Equal(dec.Data, fresh) {
			return Decision{Action: Accept}, Verdict{}, false
		}
		dec.Data = append([]byte(nil), dec.Data...) // kept for retransmissions
	}
	return dec, Verdict{}, false
}

// callFailed is the verdict when the callback failed: under Bypass the packet passes (and a
// callback that timed out maxCallbackTimeouts times in a row is left out for the rest of the
// connection); otherwise the transfer stops.
func (j *Judge) callFailed(p *Packet, name string, err error) Verdict {
	j.stats.CallbackErrors++
	if j.stats.LastError == "" {
		j.stats.LastError = err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		j.stats.TimedOut++
		j.timeouts++
	}
	if !j.s.Bypass {
		return j.stop(p, fmt.Sprintf("callback %s failed: %v", name, err))
	}
	if j.timeouts >= maxCallbackTimeouts {
		j.noCall = true
		j.stats.CallbackOff = true
	}
	// The packet passes unjudged by the callback; the patterns still see it.
	return Verdict{}
}

// Finish ends the digests (their goroutines go): Stats has the transfer's SHA-256 from now
// on, and bytes that pass later are not hashed. Call it once the connection is done.
func (j *Judge) Finish() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, st := range j.streams {
		if st.sum != nil && !st.summed {
			st.sum.finish()
			st.summed = true
		}
	}
}

// held records that a packet waited hold in ftpgate for its verdict.
func (j *Judge) held(hold time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stats.MaxHold = max(j.stats.MaxHold, hold)
}

// Complete reports whether the filter has judged every byte of the transfer's direction:
// its FIN came and every byte before it passed, or its connection was reset, or the
// transfer stopped. A connection's counts are final in the kernel before its last packets
// left the queue; the caller waits for this.
func (j *Judge) Complete() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stats.Stopped != "" {
		return true
	}
	if !j.haveData {
		return j.streams[Original].done() && j.streams[Reply].done()
	}
	return j.streams[j.data].done()
}

// Stats returns what the judge did so far.
func (j *Judge) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	if j.haveData {
		st := j.streams[j.data]
		s.DataBytes = st.nextOff
		if st.sum != nil && st.started && st.summed {
			s.SHA256 = hex.EncodeToString(st.sum.finish())
		}
	}
	return s
}

// Stats are what a judge did: its part of the transfer record and the metrics.
type Stats struct {
	Packets  int64 // packets judged
	Bytes    int64 // their payload bytes (retransmissions counted again)
	Accepted int64
	Dropped  int64 // dropped, by any cause (the counts below, a callback's DROP, a stop)
	// Rewritten counts packets that passed with a callback's new payload; Delayed those the
	// rate cap held back.
	Rewritten, Delayed int64
	RateDropped        int64 // dropped by the rate cap (would have waited too long)
	OutOfOrder         int64 // dropped because earlier bytes were missing
	// Reordered counts packets held back until the bytes before them came (see Hold).
	Reordered int64
	// Unjudged counts bytes that passed without the filter (Bypass: the queue was full or
	// not read); patterns start over after them and the digest is lost.
	Unjudged int64
	// Unparsed counts packets that were not IPv4/IPv6 TCP the filter could read.
	Unparsed int64
	// CallbackErrors counts failed callback calls, TimedOut those that ran out of time;
	// CallbackOff says the callback was left out after repeated timeouts (Bypass).
	CallbackErrors, TimedOut int64
	CallbackOff              bool
	LastError                string
	// Stopped says why the transfer was stopped ("" if it was not).
	Stopped string
	// DataBytes are the bytes of the transfer's direction that passed, SHA256 their digest
	// (when asked for and the filter saw every byte).
	DataBytes int64
	SHA256    string
	// MaxHold is the longest a packet waited in ftpgate for its verdict (the queue fills
	// it in).
	MaxHold time.Duration
}
