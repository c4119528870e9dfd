package pktfilter

import (
	"encoding/binary"
	"testing"
)

func TestReset(t *testing.T) {
	for _, v4 := range []bool{true, false} {
		raw := jpkt(5000, FlagACK, "some payload that is cut")
		if !v4 {
			raw = jpkt6(5000, FlagACK, "some payload that is cut")
		}
		p, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		p.Ack = 777
		binary.BigEndian.PutUint32(p.Raw[p.TCPOff+8:], 777)
		r, err := Parse(Reset(&p))
		if err != nil {
			t.Fatalf("v4 %v: the reset does not parse: %v", v4, err)
		}
		if r.Src != p.Src || r.Dst != p.Dst || r.SrcPort != p.SrcPort || r.DstPort != p.DstPort ||
			r.Seq != 5000 || r.Ack != 777 || r.Flags != FlagRST|FlagACK || len(r.Payload()) != 0 {
			t.Errorf("v4 %v: reset %+v of %+v", v4, r, p)
		}
		if !sumOK(&r, headerDst(&r)) {
			t.Errorf("v4 %v: TCP checksum does not verify", v4)
		}
		if v4 && ipv4Checksum(r.Raw[:20]) != 0 {
			t.Errorf("IPv4 header checksum does not verify")
		}
	}
}

// jpkt6 is jpkt over IPv6 (2001:db8:1::2 -> 2001:db8:2::2).
func jpkt6(seq uint32, flags uint8, payload string) []byte {
	v4 := jpkt(seq, flags, payload)
	b := make([]byte, 40+len(v4)-20)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(v4)-20))
	b[6], b[7] = protoTCP, 64
	copy(b[8:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2})
	copy(b[24:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2})
	copy(b[40:], v4[20:])
	return b
}
