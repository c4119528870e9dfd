package pktfilter

// stream is one direction of a queued connection as the filter saw it: where its bytes
// stand (TCP sequence numbers made offsets from the first byte after the SYN), the matcher
// that carries patterns across packets, and the digest of the bytes delivered.
type stream struct {
	started bool
	next    uint32 // the sequence number of the next byte not judged yet
	nextOff int64  // its stream offset
	matcher *Matcher
	sum     *digest // nil: no digest (not asked for, or the stream has a hole)
	summed  bool    // sum finished: no more bytes go to it
	// dropped: the filter dropped bytes up to sequence number dropEnd that have not all
	// passed since; a packet beyond a gap below dropEnd waits for them even where gaps are
	// allowed (Bypass), as the gap is the filter's own.
	dropped bool
	dropEnd uint32
	// finSeq is the sequence number of the FIN (hasFin); ended: the connection was reset.
	hasFin, ended bool
	finSeq        uint32
	// patches are the rewritten bytes that passed, oldest first, for retransmissions.
	patches      []patch
	patchedBytes int
	// held are packets beyond a gap waiting for it, in sequence order (see reorder.go).
	held      []heldPacket
	heldBytes int
}

// patch is a run of rewritten bytes that passed at stream offset off.
type patch struct {
	off  int64
	data []byte
}

// Bounds of a stream's patches: a retransmission comes within the peers' window of what
// passed; patches further back, or beyond the byte bound (oldest first), are let go, and
// their bytes pass again as the sender sends them.
const (
	patchWindow   = 64 << 20
	maxPatchBytes = 8 << 20
)

// remember keeps the rewritten bytes data that passed at off.
func (st *stream) remember(off int64, data []byte) {
	st.patches = append(st.patches, patch{off: off, data: data})
	st.patchedBytes += len(data)
	for len(st.patches) > 0 {
		old := st.patches[0]
		if st.patchedBytes <= maxPatchBytes && old.off+int64(len(old.data)) >= st.nextOff-patchWindow {
			break
		}
		st.patchedBytes -= len(old.data)
		st.patches = st.patches[1:]
	}
}

// repeat writes into b, the bytes of a retransmission at stream offset off, the rewrites
// that passed there before; it reports whether it changed b.
func (st *stream) repeat(off int64, b []byte) bool {
	changed := false
	end := off + int64(len(b))
	for _, p := range st.patches {
		pend := p.off + int64(len(p.data))
		if pend <= off || p.off >= end {
			continue
		}
		from, to := max(p.off, off), min(pend, end)
		src, dst := p.data[from-p.off:to-p.off], b[from-off:to-off]
		if string(src) != string(dst) {
			copy(dst, src)
			changed = true
		}
	}
	return changed
}

// newStream returns a stream not yet started, matching with m (its own).
func newStream(m *Matcher, digest bool) *stream {
	st := &stream{matcher: m}
	if digest {
		st.sum = newDigest()
	}
	return st
}

// syn starts the stream at the SYN's sequence number: offset 0 is the byte after it.
func (st *stream) syn(seq uint32) {
	if st.started && st.nextOff > 0 {
		return // a SYN sent again after data: nothing starts over
	}
	st.started, st.next, st.nextOff = true, seq+1, 0
}

// fin records the direction's FIN at sequence number seq (after its payload).
func (st *stream) fin(seq uint32) {
	st.hasFin, st.finSeq = true, seq
}

// done reports whether the direction ended and every byte before its end passed.
func (st *stream) done() bool {
	return st.ended || st.hasFin && st.started && int32(st.next-st.finSeq) >= 0
}

// drop records that the filter dropped the payload of n bytes at sequence number seq.
func (st *stream) drop(seq uint32, n int) {
	end := seq + uint32(n)
	if !st.dropped || int32(end-st.dropEnd) > 0 {
		st.dropped, st.dropEnd = true, end
	}
}

// ownGap reports whether the bytes missing before a packet are the filter's own drops.
func (st *stream) ownGap() bool {
	return st.dropped && int32(st.dropEnd-st.next) > 0
}

// segment is where one packet's payload stands against the stream.
type segment struct {
	off  int64 // stream offset of the payload's first byte
	gap  int64 // bytes missing between the stream's end and the payload (0: in order)
	old  int   // bytes at the payload's front that were judged before (a retransmission)
	size int   // the payload's length
}

// place locates a payload of n bytes with sequence number seq. A stream that missed its SYN
// (ftpgate started while the connection ran) starts at the first payload it sees.
func (st *stream) place(seq uint32, n int) segment {
	if !st.started {
		st.started, st.next, st.nextOff = true, seq, 0
	}
	d := int64(int32(seq - st.next))
	sg := segment{off: st.nextOff + d, size: n}
	switch {
	case d > 0:
		sg.gap = d
	case -d >= int64(n):
		sg.old = n
	default:
		sg.old = int(-d)
	}
	return sg
}

// skip accepts a gap: the bytes before the segment passed without the filter (fail-open);
// patterns start over after them and the digest is lost.
func (st *stream) skip(sg segment) {
	st.next += uint32(sg.gap)
	st.nextOff += sg.gap
	st.matcher.Reset(st.nextOff)
	if st.sum != nil {
		st.sum.finish() // lets its goroutine go
		st.sum = nil
	}
}

// advance records that the segment's new bytes (fresh, as delivered) passed.
func (st *stream) advance(fresh []byte) {
	if len(fresh) == 0 {
		return
	}
	st.next += uint32(len(fresh))
	st.nextOff += int64(len(fresh))
	if st.sum != nil && !st.summed {
		st.sum.write(fresh)
	}
}
