package pktfilter

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// released returns the actions of rels by id.
func released(rels []Released) map[uint32]Action {
	m := map[uint32]Action{}
	for _, r := range rels {
		m[r.ID] = r.Verdict.Action
	}
	return m
}

// TestJudgeReorder: packets that come before the bytes ahead of them are held, then judged
// in order once those came: patterns across them are found, the digest is whole, and the
// verdicts come in sequence order.
func TestJudgeReorder(t *testing.T) {
	for _, bypass := range []bool{false, true} {
		j := NewJudge(Settings{Enabled: true, Bypass: bypass, Patterns: []Pattern{{Name: "x", Bytes: []byte("xyz")}}}, Meta{}, true, true)
		j.Transfer(Meta{}, true)
		now := time.Unix(1000, 0)
		feed(t, j, Reply, "abc")
		// Bytes 3..5 ("def"), 6..8 ("ghi"), 9..11 ("jkl") come last-first.
		if v := j.Judge(t.Context(), jpkt(1001+9, FlagACK, "jkl"), 7, Reply, now); v.Action != Hold {
			t.Fatalf("bypass %v: beyond a gap: %v, want hold", bypass, v.Action)
		}
		if v := j.Judge(t.Context(), jpkt(1001+6, FlagACK, "ghi"), 6, Reply, now); v.Action != Hold {
			t.Fatalf("bypass %v: beyond a gap: %v, want hold", bypass, v.Action)
		}
		if next := j.NextExpiry(); !next.Equal(now.Add(DefaultTimeout)) {
			t.Errorf("next expiry %v, want %v", next, now.Add(DefaultTimeout))
		}
		v := j.Judge(t.Context(), jpkt(1001+3, FlagACK, "def"), 5, Reply, now)
		if v.Action != Accept || len(v.Then) != 2 || v.Then[0].ID != 6 || v.Then[1].ID != 7 ||
			v.Then[0].Verdict.Action != Accept || v.Then[1].Verdict.Action != Accept {
			t.Fatalf("bypass %v: the gap filled: %+v, want accept then 6 and 7 accepted", bypass, v)
		}
		if !j.NextExpiry().IsZero() {
			t.Error("something still held")
		}
		j.Finish()
		st := j.Stats()
		sum := sha256.Sum256([]byte("abcdefghijkl"))
		if st.Reordered != 2 || st.OutOfOrder != 0 || st.Unjudged != 0 || st.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("bypass %v: reordered %d, out of order %d, unjudged %d, digest %s; want 2, 0, 0, %x",
				bypass, st.Reordered, st.OutOfOrder, st.Unjudged, st.SHA256, sum)
		}
	}
}

// TestJudgeReorderPattern: a pattern that spans the late packet and a held one stops the
// transfer at the held one; the packets held behind it are dropped.
func TestJudgeReorderPattern(t *testing.T) {
	j := NewJudge(Settings{Enabled: true, Patterns: []Pattern{{Name: "x", Bytes: []byte("xyz")}}}, Meta{}, true, false)
	j.Transfer(Meta{}, true)
	now := time.Unix(1000, 0)
	feed(t, j, Reply, "abc")
	j.Judge(t.Context(), jpkt(1001+5, FlagACK, "z.."), 2, Reply, now)
	j.Judge(t.Context(), jpkt(1001+8, FlagACK, "..."), 3, Reply, now)
	v := j.Judge(t.Context(), jpkt(1001+3, FlagACK, "xy"), 1, Reply, now)
	got := released(v.Then)
	if v.Action != Accept || got[2] != Stop || got[3] != Drop {
		t.Fatalf("late \"xy\" before held \"z..\": %v, then %v; want accept, stop 2, drop 3", v.Action, got)
	}
	if st := j.Stats(); !strings.Contains(st.Stopped, `pattern "x" at byte 3`) {
		t.Errorf("stopped %q", st.Stopped)
	}
}

// TestJudgeReorderExpire: a held packet whose gap does not fill within the timeout is
// dropped fail-closed (and those beyond it wait for it again); under Bypass the gap is let
// go, unjudged, and the packet judged.
func TestJudgeReorderExpire(t *testing.T) {
	for _, bypass := range []bool{false, true} {
		j := NewJudge(Settings{Enabled: true, Bypass: bypass, Timeout: 50 * time.Millisecond}, Meta{}, true, true)
		j.Transfer(Meta{}, true)
		now := time.Unix(1000, 0)
		feed(t, j, Reply, "abc")
		j.Judge(t.Context(), jpkt(1001+8, FlagACK, "later"), 9, Reply, now)
		if rels, next := j.Expire(t.Context(), now.Add(49*time.Millisecond)); len(rels) != 0 || !next.Equal(now.Add(50*time.Millisecond)) {
			t.Fatalf("bypass %v: expired early: %+v, next %v", bypass, rels, next)
		}
		rels, next := j.Expire(t.Context(), now.Add(50*time.Millisecond))
		st := j.Stats()
		want := Drop
		if bypass {
			want = Accept
		}
		if len(rels) != 1 || rels[0].ID != 9 || rels[0].Verdict.Action != want || !next.IsZero() {
			t.Fatalf("bypass %v: expired: %+v, next %v; want 9 %v", bypass, rels, next, want)
		}
		switch {
		case !bypass && st.OutOfOrder != 1:
			t.Errorf("fail-closed: %d out of order, want 1", st.OutOfOrder)
		case bypass && (st.Unjudged != 5 || st.SHA256 != ""):
			t.Errorf("fail-open: unjudged %d, digest %q; want 5, none", st.Unjudged, st.SHA256)
		}
		// Fail-closed, a packet beyond the dropped one waits for it: dropped at once.
		if v := j.Judge(t.Context(), jpkt(1001+13, FlagACK, "more"), 10, Reply, now); !bypass && v.Action != Drop {
			t.Errorf("fail-closed: beyond the expired drop: %v, want drop", v.Action)
		}
	}
}

// TestJudgeReorderBound: a stream holds at most maxHeldBytes; beyond, fail-closed drops the
// packet, and Bypass lets the held packets' gap go first.
func TestJudgeReorderBound(t *testing.T) {
	chunk := strings.Repeat("a", 60000)
	for _, bypass := range []bool{false, true} {
		j := NewJudge(Settings{Enabled: true, Bypass: bypass}, Meta{}, true, false)
		j.Transfer(Meta{}, true)
		now := time.Unix(1000, 0)
		feed(t, j, Reply, "abc")
		seq := uint32(1001 + 3 + 100)
		var held int
		for i := range 100 {
			v := j.Judge(t.Context(), jpkt(seq, FlagACK, chunk), uint32(i), Reply, now)
			seq += uint32(len(chunk))
			if v.Action != Hold {
				if bypass && (v.Action != Accept || len(v.Then) != held) {
					t.Errorf("fail-open past the bound: %v with %d released, want accept after %d", v.Action, len(v.Then), held)
				}
				if !bypass && v.Action != Drop {
					t.Errorf("fail-closed past the bound: %v, want drop", v.Action)
				}
				break
			}
			held++
		}
		if held == 0 || held*(len(chunk)+40) > maxHeldBytes {
			t.Errorf("bypass %v: %d packets held, bound %d bytes", bypass, held, maxHeldBytes)
		}
	}
}

// TestJudgeReorderCount: tiny packets are bounded by their number (maxHeldPackets), not
// only by their bytes.
func TestJudgeReorderCount(t *testing.T) {
	j := NewJudge(Settings{Enabled: true}, Meta{}, true, false)
	j.Transfer(Meta{}, true)
	now := time.Unix(1000, 0)
	feed(t, j, Reply, "abc")
	held := 0
	for i := range maxHeldPackets + 10 {
		if v := j.Judge(t.Context(), jpkt(uint32(1001+3+10+i), FlagACK, "x"), uint32(i), Reply, now); v.Action == Hold {
			held++
		}
	}
	if held != maxHeldPackets {
		t.Errorf("%d one-byte packets held, want %d", held, maxHeldPackets)
	}
}
