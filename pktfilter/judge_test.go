package pktfilter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// jpkt builds an IPv4 TCP packet from 198.51.100.2:40000 to 203.0.113.2:50000 with the
// given sequence number, flags and payload (checksums left zero: the judge does not check).
func jpkt(seq uint32, flags uint8, payload string) []byte {
	b := make([]byte, 40+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8], b[9] = 64, 6
	copy(b[12:], []byte{198, 51, 100, 2})
	copy(b[16:], []byte{203, 0, 113, 2})
	binary.BigEndian.PutUint16(b[20:], 40000)
	binary.BigEndian.PutUint16(b[22:], 50000)
	binary.BigEndian.PutUint32(b[24:], seq)
	b[32] = 5 << 4
	b[33] = flags
	copy(b[40:], payload)
	return b
}

// feed sends the stream's SYN (seq 1000), then the pieces in order, and returns the verdicts
// of the pieces.
func feed(t *testing.T, j *Judge, d Dir, pieces ...string) []Verdict {
	t.Helper()
	now := time.Unix(1000, 0)
	if v := j.Judge(t.Context(), jpkt(1000, FlagSYN, ""), 0, d, now); v.Action != Accept {
		t.Fatalf("SYN: %v", v.Action)
	}
	seq := uint32(1001)
	var out []Verdict
	for _, p := range pieces {
		out = append(out, j.Judge(t.Context(), jpkt(seq, FlagACK, p), 0, d, now))
		seq += uint32(len(p))
	}
	return out
}

func TestJudgeCleanStream(t *testing.T) {
	pats := []Pattern{{Name: "eicar", Bytes: []byte("EICAR")}}
	j := NewJudge(Settings{Enabled: true, Patterns: pats}, Meta{}, true, true)
	j.Transfer(Meta{Command: "RETR"}, true) // passive download: the reply direction
	pieces := []string{"hello ", "EICA", "world", "R is not here"}
	for i, v := range feed(t, j, Reply, pieces...) {
		if v.Action != Accept || v.Delay != 0 {
			t.Errorf("piece %d: %+v, want accept", i, v)
		}
	}
	j.Finish()
	st := j.Stats()
	whole := strings.Join(pieces, "")
	sum := sha256.Sum256([]byte(whole))
	if st.SHA256 != hex.EncodeToString(sum[:]) || st.DataBytes != int64(len(whole)) {
		t.Errorf("digest %s (%d bytes), want %x (%d)", st.SHA256, st.DataBytes, sum, len(whole))
	}
	if st.Packets != 5 || st.Accepted != 5 || st.Dropped != 0 || st.Bytes != int64(len(whole)) {
		t.Errorf("stats %+v", st)
	}
}

func TestJudgePatternAcrossPackets(t *testing.T) {
	pats := []Pattern{{Name: "eicar", Bytes: []byte("EICAR-STANDARD")}}
	j := NewJudge(Settings{Enabled: true, Patterns: pats}, Meta{}, true, true)
	vs := feed(t, j, Reply, "0123456789", "xxEICAR-", "STANDARD and more", "after")
	if vs[0].Action != Accept || vs[1].Action != Accept {
		t.Errorf("before the pattern: %v %v", vs[0].Action, vs[1].Action)
	}
	if vs[2].Action != Stop || !strings.Contains(vs[2].Reason, `pattern "eicar" at byte 12`) {
		t.Errorf("pattern split over two packets: %+v", vs[2])
	}
	if vs[3].Action != Drop {
		t.Errorf("after the stop: %v, want drop", vs[3].Action)
	}
	if st := j.Stats(); st.Stopped == "" || st.SHA256 != "" && st.Stopped == "" {
		t.Errorf("stats %+v", st)
	}
}

// recorder is a callback that rewrites "s" to "$" and counts its calls; each call after
// the first few rewrites differently, so repeats show.
type recorder struct {
	calls int
	block bool // wait for the context instead
	fail  error
	short bool
}

func (r *recorder) Name() string { return "rec" }

func (r *recorder) Packet(ctx context.Context, p *CallbackPacket) (Decision, error) {
	r.calls++
	switch {
	case r.block:
		<-ctx.Done()
		return Decision{}, ctx.Err()
	case r.fail != nil:
		return Decision{}, r.fail
	case r.short:
		return Decision{Action: Rewrite, Data: p.Data[:len(p.Data)-1]}, nil
	}
	if bytes.Contains(p.Data, []byte("STOP")) {
		return Decision{Action: Stop, Reason: "no STOP"}, nil
	}
	to := "$"
	if r.calls > 2 {
		to = "#"
	}
	return Decision{Action: Rewrite, Data: bytes.ReplaceAll(p.Data, []byte("s"), []byte(to))}, nil
}

func TestJudgeRewriteAndRetransmission(t *testing.T) {
	cb := &recorder{}
	j := NewJudge(Settings{Enabled: true, Callback: cb}, Meta{}, true, true)
	j.Transfer(Meta{}, true)
	vs := feed(t, j, Reply, "sss", "abc")
	if vs[0].Action != Rewrite || !bytes.HasSuffix(vs[0].Packet, []byte("$$$")) {
		t.Fatalf("rewrite: %+v", vs[0])
	}
	if vs[1].Action != Accept { // the callback returned the bytes unchanged
		t.Errorf("second packet: %+v, want accept", vs[1])
	}
	// The first packet again, cut differently and with two new bytes: the old bytes pass
	// as they did ("$$$"), only the new ones meet the callback (now rewriting to "#").
	v := j.Judge(t.Context(), jpkt(1002, FlagACK, "ssabcss"), 0, Reply, time.Unix(1000, 0))
	if v.Action != Rewrite || !bytes.HasSuffix(v.Packet, []byte("$$abc##")) {
		t.Errorf("retransmission: %+v (payload %q)", v.Action, v.Packet[40:])
	}
	if cb.calls != 3 {
		t.Errorf("callback calls %d, want 3 (a retransmission's old bytes are not shown again)", cb.calls)
	}
	j.Finish()
	st := j.Stats()
	sum := sha256.Sum256([]byte("$$$abc##"))
	if st.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("digest of what passed %s, want %x", st.SHA256, sum)
	}
}

func TestJudgeSizeCap(t *testing.T) {
	j := NewJudge(Settings{Enabled: true, MaxSize: 10}, Meta{}, true, false)
	j.Transfer(Meta{}, true)
	vs := feed(t, j, Reply, "12345", "67890", "1")
	if vs[1].Action != Accept || vs[2].Action != Stop || !strings.Contains(vs[2].Reason, "size cap") {
		t.Errorf("size cap 10: %v %v %q", vs[1].Action, vs[2].Action, vs[2].Reason)
	}
	// The other direction is not capped once the transfer's direction is known.
	j = NewJudge(Settings{Enabled: true, MaxSize: 3}, Meta{}, true, false)
	j.Transfer(Meta{}, true)
	if vs := feed(t, j, Original, "12345"); vs[0].Action != Accept {
		t.Errorf("the other direction capped: %v", vs[0].Action)
	}
}

func TestJudgeRateCap(t *testing.T) {
	j := NewJudge(Settings{Enabled: true, MaxRate: 1 << 20, Timeout: 100 * time.Millisecond}, Meta{}, true, false)
	now := time.Unix(1000, 0)
	j.Judge(t.Context(), jpkt(1000, FlagSYN, ""), 0, Reply, now)
	seq := uint32(1001)
	chunk := strings.Repeat("a", 60000) // a GSO packet's worth
	var delayed, dropped int
	for range 16 { // about 1 MiB at once: the burst (256 KiB) passes, then waits, then drops
		v := j.Judge(t.Context(), jpkt(seq, FlagACK, chunk), 0, Reply, now)
		switch {
		case v.Action == Drop:
			dropped++
			continue // not advanced: TCP sends it again
		case v.Delay > 100*time.Millisecond:
			t.Errorf("delay %v beyond the timeout", v.Delay)
		case v.Delay > 0:
			delayed++
		}
		seq += uint32(len(chunk))
	}
	if delayed == 0 || dropped == 0 {
		t.Errorf("1 MiB at once under 1 MiB/s: %d delayed, %d dropped; want some of each", delayed, dropped)
	}
	// Beyond the drop, a packet with later bytes is out of order: it waits for the dropped ones.
	if v := j.Judge(t.Context(), jpkt(seq+uint32(len(chunk)), FlagACK, "b"), 0, Reply, now.Add(time.Hour)); v.Action != Drop {
		t.Errorf("a packet beyond a rate drop: %v, want drop", v.Action)
	}
}

func TestJudgeCallbackFailures(t *testing.T) {
	// fail-closed: a failing callback stops the transfer.
	j := NewJudge(Settings{Enabled: true, Callback: &recorder{fail: errors.New("boom")}}, Meta{}, true, false)
	if vs := feed(t, j, Reply, "abc"); vs[0].Action != Stop || !strings.Contains(vs[0].Reason, "boom") {
		t.Errorf("fail-closed callback error: %+v", vs[0])
	}
	// A callback that changes the length fails.
	j = NewJudge(Settings{Enabled: true, Callback: &recorder{short: true}}, Meta{}, true, false)
	if vs := feed(t, j, Reply, "abc"); vs[0].Action != Stop || !strings.Contains(vs[0].Reason, "length") {
		t.Errorf("length change: %+v", vs[0])
	}
	// fail-open: a callback that runs out of time lets the packet pass; after three in a row
	// it is left out, and the packets pass at once.
	cb := &recorder{block: true}
	j = NewJudge(Settings{Enabled: true, Bypass: true, Callback: cb, Timeout: 10 * time.Millisecond}, Meta{}, true, false)
	vs := feed(t, j, Reply, "a", "b", "c", "d", "e")
	for i, v := range vs {
		if v.Action != Accept {
			t.Errorf("fail-open piece %d: %v", i, v.Action)
		}
	}
	st := j.Stats()
	if cb.calls != 3 || st.TimedOut != 3 || !st.CallbackOff {
		t.Errorf("calls %d, timed out %d, off %v; want 3, 3, true", cb.calls, st.TimedOut, st.CallbackOff)
	}
}

func TestJudgeUnparsed(t *testing.T) {
	for _, bypass := range []bool{false, true} {
		j := NewJudge(Settings{Enabled: true, Bypass: bypass, MaxSize: 5}, Meta{}, true, false)
		v := j.Judge(t.Context(), []byte{0x45, 0, 0}, 0, Reply, time.Now())
		want := Drop
		if bypass {
			want = Accept
		}
		if v.Action != want || j.Stats().Unparsed != 1 {
			t.Errorf("bypass %v: unparsable packet %v, want %v", bypass, v.Action, want)
		}
	}
}

// dropOnce drops the first packet it sees at each offset and accepts it after.
type dropOnce struct{ seen map[int64]bool }

func (d *dropOnce) Name() string { return "dropOnce" }

func (d *dropOnce) Packet(_ context.Context, p *CallbackPacket) (Decision, error) {
	if d.seen[p.Offset] {
		return Decision{Action: Accept}, nil
	}
	d.seen[p.Offset] = true
	return Decision{Action: Drop}, nil
}

// TestJudgeOwnHoles: even under Bypass (gaps allowed), bytes the filter dropped itself are
// waited for: a packet beyond them is dropped until they came again, so nothing passes
// unjudged and the digest stays whole.
func TestJudgeOwnHoles(t *testing.T) {
	j := NewJudge(Settings{Enabled: true, Bypass: true, Callback: &dropOnce{seen: map[int64]bool{}}}, Meta{}, true, true)
	j.Transfer(Meta{}, true)
	now := time.Unix(1, 0)
	j.Judge(t.Context(), jpkt(1000, FlagSYN, ""), 0, Reply, now)
	for i, c := range []struct {
		seq  uint32
		data string
		want Action
	}{
		{1001, "aaa", Drop},   // the callback drops it
		{1004, "bbb", Drop},   // beyond the filter's own hole
		{1001, "aaa", Accept}, // sent again: passes
		{1007, "ccc", Drop},   // beyond "bbb", which the filter dropped too
		{1004, "bbb", Drop},   // the callback's first sight of offset 3
		{1004, "bbb", Accept},
		{1007, "ccc", Drop}, // the callback's first sight of offset 6
		{1007, "ccc", Accept},
	} {
		if v := j.Judge(t.Context(), jpkt(c.seq, FlagACK, c.data), 0, Reply, now); v.Action != c.want {
			t.Fatalf("step %d (%s): %v, want %v", i, c.data, v.Action, c.want)
		}
	}
	j.Finish()
	st := j.Stats()
	sum := sha256.Sum256([]byte("aaabbbccc"))
	if st.Unjudged != 0 || st.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("unjudged %d, digest %s; want 0 and %x", st.Unjudged, st.SHA256, sum)
	}
}

// TestJudgeCompiled: judges of compiled settings share the compiled patterns, each stream
// matching on its own.
func TestJudgeCompiled(t *testing.T) {
	s := Settings{Enabled: true, Patterns: []Pattern{{Name: "eicar", Bytes: []byte("EICAR-STANDARD")}}}
	s.Compile()
	a, b := NewJudge(s, Meta{}, true, false), NewJudge(s, Meta{}, true, false)
	if vs := feed(t, a, Reply, "xxEICAR-", "STANDARD"); vs[1].Action != Stop {
		t.Errorf("judge a: %v, want a stop", vs[1].Action)
	}
	if vs := feed(t, b, Reply, "xxEICAR-", "other"); vs[1].Action != Accept {
		t.Errorf("judge b (its own stream): %v, want accept", vs[1].Action)
	}
}
