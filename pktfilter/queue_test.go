package pktfilter

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// segment4 builds an IPv4 TCP packet between two address:port pairs.
func segment4(src, dst netip.AddrPort, flags uint8) *Packet {
	raw := jpkt(1, flags, "")
	copy(raw[12:16], src.Addr().AsSlice())
	copy(raw[16:20], dst.Addr().AsSlice())
	binary.BigEndian.PutUint16(raw[20:], src.Port())
	binary.BigEndian.PutUint16(raw[22:], dst.Port())
	p, err := Parse(raw)
	if err != nil {
		panic(err)
	}
	return &p
}

// TestQueueLookup: a registered pinhole takes the first connection through it, in either
// direction; its packets are found both ways; a second connection and other traffic are
// unknown; removing a registration leaves a newer one of the same pinhole alone.
func TestQueueLookup(t *testing.T) {
	q := NewQueue(QueueConfig{Num: 7})
	c := netip.MustParseAddrPort("198.51.100.2:40000")
	s := netip.MustParseAddrPort("203.0.113.2:5000")
	pin := Pinhole{Src: c.Addr(), Dst: s.Addr(), Port: 5000}
	j := NewJudge(Settings{Enabled: true, MaxSize: 1}, Meta{}, true, false)
	remove := q.Add(pin, j, func(string) {})
	if e, _ := q.lookup(segment4(netip.MustParseAddrPort("198.51.100.9:40000"), s, FlagSYN)); e != nil {
		t.Error("a packet from another host was taken by the pinhole")
	}
	if e, d := q.lookup(segment4(c, s, FlagSYN)); e == nil || e.j != j || d != Original {
		t.Fatalf("the SYN through the pinhole: %v %v", e, d)
	}
	if e, d := q.lookup(segment4(s, c, FlagSYN|FlagACK)); e == nil || d != Reply {
		t.Errorf("the SYN-ACK: %v %v", e, d)
	}
	second := netip.MustParseAddrPort("198.51.100.2:40001")
	if e, _ := q.lookup(segment4(second, s, FlagSYN)); e != nil {
		t.Error("a second connection through a used pinhole was taken")
	}
	if p, n := q.Len(); p != 0 || n != 1 {
		t.Errorf("Len %d pending, %d connections; want 0, 1", p, n)
	}
	remove()
	if e, _ := q.lookup(segment4(c, s, FlagACK)); e != nil {
		t.Error("a removed connection is still found")
	}

	// Narrowed before its connection came: the first packet seen is a reply.
	j2 := NewJudge(Settings{Enabled: true, MaxSize: 1}, Meta{}, false, false)
	old := q.Add(pin, j, func(string) {})
	q.Add(pin, j2, func(string) {}) // a newer registration of the same pinhole
	old()
	if e, d := q.lookup(segment4(s, c, FlagSYN|FlagACK)); e == nil || e.j != j2 || d != Reply {
		t.Fatalf("reply first: %v %v, want the newer registration, reply", e, d)
	}
	if e, d := q.lookup(segment4(c, s, FlagACK)); e == nil || e.j != j2 || d != Original {
		t.Errorf("then the original direction: %v %v", e, d)
	}
}

// TestJudgeComplete: the transfer's direction is complete once its FIN came and every byte
// before it passed; a reset or a stop completes it too.
func TestJudgeComplete(t *testing.T) {
	j := NewJudge(Settings{Enabled: true, Patterns: []Pattern{{Name: "x", Bytes: []byte("xyz")}}}, Meta{}, true, true)
	j.Transfer(Meta{}, true)
	now := time.Unix(1, 0)
	feed(t, j, Reply, "abc")
	if j.Complete() {
		t.Fatal("complete before the FIN")
	}
	j.Judge(t.Context(), jpkt(1001+3+4, FlagFIN|FlagACK, ""), 0, Reply, now) // FIN beyond 4 missing bytes
	if j.Complete() {
		t.Fatal("complete with bytes before the FIN missing")
	}
	j.Judge(t.Context(), jpkt(1001+3, FlagACK, "defg"), 0, Reply, now)
	if !j.Complete() {
		t.Fatal("not complete after the missing bytes came")
	}
	j.Finish()
	if st := j.Stats(); st.DataBytes != 7 || st.SHA256 == "" {
		t.Errorf("stats %+v", st)
	}
	r := NewJudge(Settings{Enabled: true, MaxSize: 1}, Meta{}, true, false)
	r.Transfer(Meta{}, true)
	r.Judge(t.Context(), jpkt(1000, FlagRST, ""), 0, Reply, now)
	if !r.Complete() {
		t.Error("not complete after a reset")
	}
}

// TestPacketMessage: a queued packet's message gives its id and payload, also when the
// payload attribute's 16-bit length overflowed (a GSO packet of more than 65,531 bytes).
func TestPacketMessage(t *testing.T) {
	payload := make([]byte, 65533)
	for i := range payload {
		payload[i] = byte(i)
	}
	hdr := attr(attrPacketHdr, []byte{0, 0, 0x12, 0x34, 0x08, 0x00, 3})
	pl := make([]byte, 4, 4+len(payload))
	binary.NativeEndian.PutUint16(pl, uint16(4+len(payload))) // overflows: 1
	binary.NativeEndian.PutUint16(pl[2:], attrPayload)
	pl = append(pl, payload...)
	q := &nfq{num: 5}
	msg := q.message(msgPacket, 0, append(hdr, pl...))
	id, got, ok := packet(msg)
	if !ok || id != 0x1234 || len(got) != len(payload) || got[65532] != payload[65532] {
		t.Fatalf("packet: id %#x, %d bytes, ok %v", id, len(got), ok)
	}
	if _, _, ok := packet(q.message(msgPacket, 0, hdr)); ok {
		t.Error("a message without payload was taken")
	}
	if _, _, ok := packet(q.message(msgVerdict, 0, append(hdr, pl...))); ok {
		t.Error("a message of another type was taken")
	}
}
