package pktfilter

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// rewriteAll is a callback that rewrites every "a" to "b".
type rewriteAll struct{}

func (rewriteAll) Name() string { return "rewriteAll" }

func (rewriteAll) Packet(_ context.Context, p *CallbackPacket) (Decision, error) {
	return Decision{Action: Rewrite, Data: bytes.ReplaceAll(p.Data, []byte("a"), []byte("b"))}, nil
}

// FuzzJudge feeds a judge packets of any order, overlap and flags, built from the input
// (each record: 2 bytes of sequence offset, 1 of flags, 1 of direction, 1 of length, then the
// payload): it never panics, a rewritten packet keeps its length and parses, and what
// passed in order never exceeds what was judged or let pass unjudged.
func FuzzJudge(f *testing.F) {
	f.Add([]byte("\x00\x00\x02\x01\x00" + "\x00\x01\x10\x01\x05aaxyz" + "\x00\x03\x10\x01\x04aaaa" + "\x00\x01\x11\x01\x02ab"))
	f.Add([]byte("\x00\x05\x10\x01\x03xyz\x00\x01\x10\x01\x04abcd\x00\x01\x04\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, bypass := range []bool{false, true} {
			j := NewJudge(Settings{Enabled: true, Bypass: bypass, Patterns: []Pattern{{Name: "x", Bytes: []byte("xyz")}},
				MaxSize: 1 << 12, MaxRate: 1 << 14, Callback: rewriteAll{}}, Meta{}, true, true)
			j.Transfer(Meta{}, true)
			now := time.Unix(1, 0)
			held := map[uint32]int{} // id: payload length
			check := func(id uint32, v Verdict, n int) {
				if v.Action == Rewrite {
					p, err := Parse(v.Packet)
					if err != nil || len(p.Payload()) != n {
						t.Fatalf("rewritten packet %d: %v, %d bytes for %d", id, err, len(p.Payload()), n)
					}
				}
			}
			releases := func(rels []Released) {
				for _, r := range rels {
					n, ok := held[r.ID]
					if !ok || r.Verdict.Action == Hold || r.Payload != n {
						t.Fatalf("released %d (%v, %d bytes), not held so", r.ID, r.Verdict.Action, r.Payload)
					}
					delete(held, r.ID)
					check(r.ID, r.Verdict, n)
				}
			}
			var id uint32
			for rest := in; len(rest) >= 5; id++ {
				off, flags, dir, n := binary.BigEndian.Uint16(rest), rest[2], Dir(rest[3]&1), int(rest[4])
				rest = rest[5:]
				n = min(n, len(rest))
				payload := string(rest[:n])
				rest = rest[n:]
				raw := jpkt(1000+uint32(off), flags, payload)
				v := j.Judge(context.Background(), raw, id, dir, now)
				if v.Action == Hold {
					held[id] = n
				}
				check(id, v, n)
				releases(v.Then)
				if rels, _ := j.Expire(context.Background(), now); len(rels) > 0 {
					releases(rels)
				}
				now = now.Add(time.Millisecond)
			}
			rels, next := j.expire(context.Background(), now, true)
			releases(rels)
			if len(held) != 0 || !next.IsZero() {
				t.Fatalf("still held after the last expiry: %v (next %v)", held, next)
			}
			j.Finish()
			if st := j.Stats(); st.DataBytes > st.Bytes+st.Unjudged {
				t.Fatalf("%d bytes passed in order, more than the %d judged and %d unjudged", st.DataBytes, st.Bytes, st.Unjudged)
			}
		}
	})
}
