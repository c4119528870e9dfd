package pktfilter

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// Real packets, captured with tcpdump -i lo -x (from the IP header on): a connect to a
// closed port and a 17-byte write. The kernel checksums the IPv4 reset in software; the
// data segment and the IPv6 reset carry a partial checksum (CHECKSUM_PARTIAL on loopback:
// the field holds the folded pseudo header sum, the device would add the segment's), as
// NFQUEUE can hand packets over too (NFQA_SKB_CSUMNOTREADY).
const (
	capV4RST  = "450000280000400040063ccb7f0000027f000003b8138e3500000000477f785350140000abaf0000"
	capV4Data = "45000045e7fc4000400654b17f0000037f000002e411b8140a8ba639a5709b398018" +
		"0040fe3c00000101080ae84aed48248afbf953544f52207265706f72742e7478740d0a"
	capV6RST = "60054fe000140640000000000000000000000000000000010000000000000000000000000000" +
		"0001b813e66a000000002c6f983f50140000001c0000"
)

// Packets built with Python's struct module and a checksum of its own (RFC 1071 over
// 16-bit words): IPv4 with IP and TCP options; IPv6 with hop-by-hop and destination
// options; IPv6 with a segment routing header with one segment left, whose checksum
// covers the final destination 2001:db8::2, not the header's 2001:db8::a.
const (
	pyV4Opts = "4600004f123440004006392fc000020ac633640701010100c365001501020304a0b0c0d0" +
		"801801f6e4d000000101080a000010000000200052455452207365637265742d706c616e732e7478740d0a"
	pyV6Ext = "600000000031004020010db800000000000000000000000120010db800000000000000000000" +
		"00023c00010400000000060001040000000000149c41fffffff000000007501001f6adf3000000ff" +
		"62696e6172790164617461"
	pyV6SRH = "6000000000402b4020010db800000000000000000000000120010db80000000000000000000000" +
		"0a060404010100000020010db800000000000000000000000220010db800000000000000000000000a" +
		"9c4100140000006300000000600201f69e170000020405a0"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tcpSeg builds a TCP segment (checksum zero).
func tcpSeg(sp, dp uint16, seq, ack uint32, flags byte, opts, payload []byte) []byte {
	b := make([]byte, 20, 20+len(opts)+len(payload))
	binary.BigEndian.PutUint16(b[0:], sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12] = byte((20+len(opts))/4) << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 1000)
	return append(append(b, opts...), payload...)
}

// buildV4 builds an IPv4 packet 10.0.0.1 -> 10.0.0.2 around seg.
func buildV4(ipOpts, seg []byte) []byte {
	hl := 20 + len(ipOpts)
	b := make([]byte, hl, hl+len(seg))
	b[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(b[2:], uint16(hl+len(seg)))
	b[6] = 0x40 // DF
	b[8], b[9] = 64, protoTCP
	copy(b[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	copy(b[20:], ipOpts)
	return append(b, seg...)
}

// ext6 is an IPv6 extension header: its type and its bytes after the first two (next
// header and length, which buildV6 fills in).
type ext6 struct {
	typ  byte
	body []byte
}

// buildV6 builds an IPv6 packet 2001:db8::1 -> 2001:db8::2 with exts around seg.
func buildV6(exts []ext6, seg []byte) []byte {
	b := make([]byte, 40)
	b[0] = 0x60
	b[6], b[7] = protoTCP, 64
	copy(b[8:], netip.MustParseAddr("2001:db8::1").AsSlice())
	copy(b[24:], netip.MustParseAddr("2001:db8::2").AsSlice())
	next := &b[6]
	for _, e := range exts {
		*next = e.typ
		b = append(b, protoTCP, byte((len(e.body)+2)/8-1))
		next = &b[len(b)-2]
		b = append(b, e.body...)
	}
	b = append(b, seg...)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)-40))
	return b
}

// refSum is the one's complement sum of chunks as 16-bit big-endian words, a byte pair at
// a time (RFC 1071); only the last chunk may have an odd length.
func refSum(chunks ...[]byte) uint16 {
	var s uint32
	for _, c := range chunks {
		for i := 0; i < len(c); i += 2 {
			w := uint32(c[i]) << 8
			if i+1 < len(c) {
				w |= uint32(c[i+1])
			}
			s += w
			s = s&0xffff + s>>16
		}
	}
	return uint16(s)
}

// refPseudo is the pseudo header of p's TCP checksum, with dst as the destination. For
// IPv4 the TCP length is written in 32 bits, which sums the same as the 16-bit field when
// the length fits in 16 bits (and as the kernel sums it when it does not).
func refPseudo(p *Packet, dst []byte) []byte {
	n := len(p.Raw) - p.TCPOff
	if p.V4 {
		return append(append(append([]byte{}, p.Raw[12:16]...), dst...), 0, protoTCP, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(append(append([]byte{}, p.Raw[8:24]...), dst...), byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, protoTCP)
}

// refChecksum is the TCP checksum of p (its checksum field taken as zero) for destination dst.
func refChecksum(p *Packet, dst []byte) uint16 {
	seg := append([]byte{}, p.Raw[p.TCPOff:]...)
	seg[16], seg[17] = 0, 0
	return ^refSum(refPseudo(p, dst), seg)
}

// sumOK tells whether p's checksum is right: the sum over pseudo header and segment is 0xffff.
func sumOK(p *Packet, dst []byte) bool {
	return refSum(refPseudo(p, dst), p.Raw[p.TCPOff:]) == 0xffff
}

// headerDst is the destination address in p's IP header.
func headerDst(p *Packet) []byte {
	if p.V4 {
		return p.Raw[16:20]
	}
	return p.Raw[24:40]
}

// fillRand fills b with random bytes.
func fillRand(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func TestParse(t *testing.T) {
	payload := []byte("STOR x\r\n")
	seg := tcpSeg(1021, 20, 7, 9, FlagSYN|FlagACK, nil, payload)
	segOpts := tcpSeg(1021, 20, 7, 9, FlagPSH|FlagACK, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, payload)
	hbh := ext6{protoHopByHop, []byte{1, 4, 0, 0, 0, 0}}
	dopts := ext6{protoDestOpts, []byte{1, 4, 0, 0, 0, 0}}
	rt0 := ext6{protoRouting, []byte{0, 0, 0, 0, 0, 0}} // type 0, no segments left
	gso4 := buildV4(nil, seg)
	gso4[2], gso4[3] = 0, 0
	gso6 := buildV6([]ext6{hbh}, seg)
	gso6[4], gso6[5] = 0, 0
	tests := []struct {
		name     string
		raw      []byte
		v4       bool
		tcpOff   int
		rawLen   int
		flags    uint8
		ports    [2]uint16
		src, dst string
	}{
		{"v4", buildV4(nil, seg), true, 20, 48, FlagSYN | FlagACK, [2]uint16{1021, 20}, "10.0.0.1", "10.0.0.2"},
		{"v4 options", buildV4([]byte{1, 1, 1, 0, 1, 1, 1, 0}, segOpts), true, 28, 68, FlagPSH | FlagACK, [2]uint16{1021, 20}, "10.0.0.1", "10.0.0.2"},
		{"v4 trailing bytes trimmed", append(buildV4(nil, seg), 0, 0, 0, 0, 0, 0), true, 20, 48, FlagSYN | FlagACK, [2]uint16{1021, 20}, "10.0.0.1", "10.0.0.2"},
		{"v4 total length 0", gso4, true, 20, 48, FlagSYN | FlagACK, [2]uint16{1021, 20}, "10.0.0.1", "10.0.0.2"},
		{"v6", buildV6(nil, seg), false, 40, 68, FlagSYN | FlagACK, [2]uint16{1021, 20}, "2001:db8::1", "2001:db8::2"},
		{"v6 extension headers", buildV6([]ext6{hbh, dopts, rt0, dopts}, segOpts), false, 72, 112, FlagPSH | FlagACK, [2]uint16{1021, 20}, "2001:db8::1", "2001:db8::2"},
		{"v6 trailing bytes trimmed", append(buildV6(nil, seg), 1, 2, 3), false, 40, 68, FlagSYN | FlagACK, [2]uint16{1021, 20}, "2001:db8::1", "2001:db8::2"},
		{"v6 payload length 0", gso6, false, 48, 76, FlagSYN | FlagACK, [2]uint16{1021, 20}, "2001:db8::1", "2001:db8::2"},
		{"captured v4 reset", unhex(t, capV4RST), true, 20, 40, FlagRST | FlagACK, [2]uint16{47123, 36405}, "127.0.0.2", "127.0.0.3"},
		{"captured v6 reset", unhex(t, capV6RST), false, 40, 60, FlagRST | FlagACK, [2]uint16{47123, 58986}, "::1", "::1"},
		{"python v6 routing", unhex(t, pyV6SRH), false, 80, 104, FlagSYN, [2]uint16{40001, 20}, "2001:db8::1", "2001:db8::a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if p.V4 != tt.v4 || p.TCPOff != tt.tcpOff || len(p.Raw) != tt.rawLen || p.Flags != tt.flags ||
				p.SrcPort != tt.ports[0] || p.DstPort != tt.ports[1] ||
				p.Src != netip.MustParseAddr(tt.src) || p.Dst != netip.MustParseAddr(tt.dst) {
				t.Fatalf("got %+v", p)
			}
			if &p.Raw[0] != &tt.raw[0] {
				t.Error("Raw does not share the input's memory")
			}
			if want := p.Raw[p.TCPOff+12] >> 4 * 4; p.PayloadOff != p.TCPOff+int(want) {
				t.Errorf("PayloadOff %d", p.PayloadOff)
			}
		})
	}
	p, _ := Parse(buildV4(nil, seg))
	if p.Seq != 7 || p.Ack != 9 || !bytes.Equal(p.Payload(), payload) {
		t.Errorf("seq %d ack %d payload %q", p.Seq, p.Ack, p.Payload())
	}
}

func TestParseErrors(t *testing.T) {
	seg := tcpSeg(1, 2, 3, 4, FlagACK, nil, []byte("data"))
	v4 := func(f func(b []byte) []byte) []byte { return f(buildV4(nil, seg)) }
	v6 := func(exts []ext6, f func(b []byte) []byte) []byte { return f(buildV6(exts, seg)) }
	same := func(b []byte) []byte { return b }
	tests := []struct {
		name      string
		raw       []byte
		truncated bool
		want      string
	}{
		{"empty", nil, true, "no bytes"},
		{"version 5", v4(func(b []byte) []byte { b[0] = 0x55; return b }), false, "IP version 5"},
		{"v4 short header", v4(func(b []byte) []byte { return b[:19] }), true, "IPv4 header has at least 20"},
		{"v4 IHL 4", v4(func(b []byte) []byte { b[0] = 0x44; return b }), false, "header length 16"},
		{"v4 header cut", v4(func(b []byte) []byte { b[0] = 0x4f; return b[:40] }), true, "the IPv4 header has 60"},
		{"v4 total below header", v4(func(b []byte) []byte { b[3] = 19; return b }), false, "total length 19"},
		{"v4 cut", v4(func(b []byte) []byte { return b[:len(b)-1] }), true, "43 bytes of an IPv4 packet of 44"},
		{"v4 more fragments", v4(func(b []byte) []byte { b[6] = 0x20; return b }), false, "IPv4 fragment"},
		{"v4 fragment offset", v4(func(b []byte) []byte { b[6], b[7] = 0x40, 1; return b }), false, "IPv4 fragment"},
		{"v4 UDP", v4(func(b []byte) []byte { b[9] = 17; return b }), false, "protocol 17"},
		{"v6 short header", v6(nil, func(b []byte) []byte { return b[:39] }), true, "an IPv6 header has 40"},
		{"v6 cut", v6(nil, func(b []byte) []byte { return b[:50] }), true, "50 bytes of an IPv6 packet of 64"},
		{"v6 fragment", v6([]ext6{{protoFragment, make([]byte, 6)}}, same), false, "IPv6 fragment"},
		{"v6 UDP", v6(nil, func(b []byte) []byte { b[6] = 17; return b }), false, "next header 17"},
		{"v6 unknown extension", v6([]ext6{{59, make([]byte, 6)}}, same), false, "next header 59"},
		{"v6 hop-by-hop second", v6([]ext6{{protoDestOpts, make([]byte, 6)}, {protoHopByHop, make([]byte, 6)}}, same), false, "hop-by-hop options after"},
		{"v6 extension past end", v6([]ext6{{protoDestOpts, make([]byte, 6)}}, func(b []byte) []byte { b[41] = 9; return b }), false, "runs past the packet's end"},
		{"v6 extension header cut", v6(nil, func(b []byte) []byte { b[6] = protoDestOpts; b[4], b[5] = 0, 4; return b[:44] }), false, "runs past the packet's end"},
		{"v6 routing type 3", v6([]ext6{{protoRouting, []byte{3, 1, 0, 0, 0, 0}}}, same), false, "routing header type 3 (1 segments left)"},
		{"v6 routing type 0 empty", v6([]ext6{{protoRouting, []byte{0, 1, 0, 0, 0, 0}}}, same), false, "routing header type 0"},
		{"tcp short", v4(func(b []byte) []byte { b[3] = 39; return b[:39] }), false, "TCP segment of 19 bytes"},
		{"tcp data offset 4", v4(func(b []byte) []byte { b[32] = 0x40; return b }), false, "data offset 16"},
		{"tcp data offset past segment", v4(func(b []byte) []byte { b[32] = 0x70; return b }), false, "TCP header of 28 bytes in a segment of 24"},
		{"v6 tcp data offset past segment", v6(nil, func(b []byte) []byte { b[52] = 0xf0; return b }), false, "TCP header of 60 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.raw)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrTruncated) != tt.truncated {
				t.Errorf("errors.Is(%v, ErrTruncated) = %v", err, !tt.truncated)
			}
			if !strings.HasPrefix(err.Error(), "pktfilter: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestVectors checks the checksums of the captured and the Python-built packets.
func TestVectors(t *testing.T) {
	final := netip.MustParseAddr("2001:db8::2").AsSlice()
	tests := []struct {
		name    string
		hex     string
		partial bool   // the captured checksum is the kernel's partial one
		dst     []byte // the pseudo header's destination if not the header's
	}{
		{"captured v4 reset", capV4RST, false, nil},
		{"captured v4 data", capV4Data, true, nil},
		{"captured v6 reset", capV6RST, true, nil},
		{"python v4 options", pyV4Opts, false, nil},
		{"python v6 extension headers", pyV6Ext, false, nil},
		{"python v6 segment routing", pyV6SRH, false, final},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := unhex(t, tt.hex)
			orig := bytes.Clone(raw)
			p, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			dst := tt.dst
			if dst == nil {
				dst = headerDst(&p)
			}
			got := binary.BigEndian.Uint16(p.Raw[p.TCPOff+16:])
			if tt.partial {
				if want := refSum(refPseudo(&p, dst)); got != want {
					t.Errorf("partial checksum %#04x, the folded pseudo header is %#04x", got, want)
				}
			} else if !sumOK(&p, dst) {
				t.Errorf("captured checksum %#04x does not verify", got)
			}
			p.FixChecksum()
			if !sumOK(&p, dst) {
				t.Errorf("checksum %#04x after FixChecksum does not verify", binary.BigEndian.Uint16(p.Raw[p.TCPOff+16:]))
			}
			c := p.TCPOff + 16
			if !tt.partial && !bytes.Equal(raw, orig) || !bytes.Equal(raw[:c], orig[:c]) || !bytes.Equal(raw[c+2:], orig[c+2:]) {
				t.Errorf("FixChecksum changed more than it should:\n%x\n%x", orig, raw)
			}
		})
	}
}

// TestFixChecksum compares FixChecksum with the byte-pair reference on random packets of
// both families and every alignment of the segment's end, then changes payloads in place.
func TestFixChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hbh := ext6{protoHopByHop, []byte{1, 4, 0, 0, 0, 0}}
	for n := range 600 {
		payload := make([]byte, n%90+(n/90)*(n/90)*37)
		for i := range payload {
			payload[i] = byte(r.Uint32())
		}
		var opts []byte
		if n%3 == 0 {
			opts = []byte{2, 4, 0xff, 0xff}
		}
		seg := tcpSeg(uint16(r.Uint32()), uint16(r.Uint32()), r.Uint32(), r.Uint32(), byte(r.Uint32()), opts, payload)
		var raw []byte
		if n%2 == 0 {
			raw = buildV4(nil, seg)
			fillRand(r, raw[12:20])
		} else {
			raw = buildV6([]ext6{hbh}[:n%4/2], seg)
			fillRand(r, raw[8:40])
		}
		p, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			want := refChecksum(&p, headerDst(&p))
			p.FixChecksum()
			if got := binary.BigEndian.Uint16(p.Raw[p.TCPOff+16:]); got != want {
				t.Fatalf("packet %d (%d bytes of payload): checksum %#04x, reference %#04x", n, len(payload), got, want)
			}
			if !sumOK(&p, headerDst(&p)) {
				t.Fatalf("packet %d: the sum is not 0xffff after FixChecksum", n)
			}
			fillRand(r, p.Payload()) // a rewrite in place, same length
		}
	}
}

// TestFixChecksumLiteral fixes the checksum of a Packet not made by Parse.
func TestFixChecksumLiteral(t *testing.T) {
	raw := buildV6(nil, tcpSeg(1, 2, 3, 4, FlagACK, nil, []byte("odd")))
	p := Packet{Raw: raw, TCPOff: 40}
	p.FixChecksum()
	if !sumOK(&p, raw[24:40]) {
		t.Error("does not verify")
	}
}

// TestFixChecksumGSO checks 64 KiB packets whose IP length is 0 (GSO, BIG TCP).
func TestFixChecksumGSO(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v4 := range []bool{true, false} {
		for _, size := range []int{65535, 65536, 100001} {
			seg := tcpSeg(20, 40000, 1, 2, FlagACK, nil, make([]byte, size))
			fillRand(r, seg[20:])
			var raw []byte
			if v4 {
				raw = buildV4(nil, seg)
				raw[2], raw[3] = 0, 0
			} else {
				raw = buildV6(nil, seg)
				raw[4], raw[5] = 0, 0
			}
			p, err := Parse(raw)
			if err != nil || len(p.Raw) != len(raw) {
				t.Fatalf("v4 %v size %d: %v, %d bytes", v4, size, err, len(p.Raw))
			}
			p.FixChecksum()
			if !sumOK(&p, headerDst(&p)) {
				t.Errorf("v4 %v size %d: does not verify", v4, size)
			}
		}
	}
}

func TestCsumFold(t *testing.T) {
	for _, s := range []uint64{0, 1, 0xffff, 0x10000, 0xffffffff, 0x1fffffffe, 1<<64 - 1, 0xffff0000ffff0000} {
		want := uint64(0)
		for v := s; v != 0; v >>= 16 { // add the 16-bit words and fold, slowly
			want += v & 0xffff
		}
		for want > 0xffff {
			want = want&0xffff + want>>16
		}
		if got := csumFold(s); uint64(got) != want {
			t.Errorf("csumFold(%#x) = %#x, want %#x", s, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, h := range []string{capV4RST, capV4Data, capV6RST, pyV4Opts, pyV6Ext, pyV6SRH} {
		f.Add(unhex(f, h))
	}
	f.Add(buildV6([]ext6{{protoHopByHop, make([]byte, 6)}, {protoRouting, []byte{4, 1, 0, 0, 0, 0}}}, tcpSeg(1, 2, 3, 4, 5, nil, []byte("x"))))
	f.Add([]byte{0x45})
	f.Fuzz(func(t *testing.T, data []byte) {
		raw := bytes.Clone(data)
		p, err := Parse(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pktfilter: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if len(p.Raw) > len(raw) || p.TCPOff+20 > p.PayloadOff || p.PayloadOff > len(p.Raw) || p.pseudoDst+len(headerDst(&p)) > p.TCPOff {
			t.Fatalf("inconsistent packet: %d bytes, TCP at %d, payload at %d", len(p.Raw), p.TCPOff, p.PayloadOff)
		}
		p.FixChecksum()
		dst := p.Raw[p.pseudoDst : p.pseudoDst+len(headerDst(&p))]
		if !sumOK(&p, dst) {
			t.Fatal("checksum does not verify after FixChecksum")
		}
	})
}

func BenchmarkFixChecksum(b *testing.B) {
	for _, size := range []int{1500, 64 << 10} {
		seg := tcpSeg(20, 40000, 1, 2, FlagACK, nil, make([]byte, size-40))
		raw := buildV4(nil, seg)
		raw[2], raw[3] = 0, 0
		p, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			b.SetBytes(int64(len(p.Raw)))
			for b.Loop() {
				p.FixChecksum()
			}
		})
	}
}
