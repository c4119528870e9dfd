package pktfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// Packet is one parsed IPv4 or IPv6 TCP packet; Raw starts at the network header, as
// NFQUEUE gives it.
type Packet struct {
	Raw              []byte // the whole packet (trimmed to the IP header's declared length)
	V4               bool
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8 // the TCP flags byte: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10
	TCPOff           int   // offset of the TCP header in Raw
	PayloadOff       int   // offset of the TCP payload in Raw

	// pseudoDst is the offset in Raw of the destination address the TCP checksum covers:
	// the IP header's, or for IPv6 with a routing header still to be followed, the final
	// destination's in that header (RFC 8200 section 8.1).
	pseudoDst int
}

// The TCP flags of Packet.Flags.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
)

// ErrTruncated is wrapped by Parse's error when the bytes end before the packet does: fewer
// than its IP header's declared length, or too few to read that header.
var ErrTruncated = errors.New("pktfilter: truncated packet")

// The protocol numbers Parse reads (IPv4 protocol, IPv6 next header).
const (
	protoHopByHop = 0
	protoTCP      = 6
	protoRouting  = 43
	protoFragment = 44
	protoDestOpts = 60
)

// Parse reads an IPv4 or IPv6 TCP packet. IPv4 fragments, IPv6 fragment headers and other
// protocols are errors. A declared length of zero (a GSO or BIG TCP packet) means all of
// raw; bytes after the declared length are not part of the packet. Raw shares raw's memory.
func Parse(raw []byte) (Packet, error) {
	if len(raw) == 0 {
		return Packet{}, fmt.Errorf("%w: no bytes", ErrTruncated)
	}
	var p Packet
	var err error
	switch v := raw[0] >> 4; v {
	case 4:
		p, err = parseIPv4(raw)
	case 6:
		p, err = parseIPv6(raw)
	default:
		return Packet{}, fmt.Errorf("pktfilter: IP version %d, want 4 or 6", v)
	}
	if err == nil {
		err = p.parseTCP()
	}
	if err != nil {
		return Packet{}, err
	}
	return p, nil
}

// parseIPv4 reads the IPv4 header; the TCP header is left to parseTCP.
func parseIPv4(raw []byte) (Packet, error) {
	if len(raw) < 20 {
		return Packet{}, fmt.Errorf("%w: %d bytes, an IPv4 header has at least 20", ErrTruncated, len(raw))
	}
	hl := int(raw[0]&0x0f) * 4
	if hl < 20 {
		return Packet{}, fmt.Errorf("pktfilter: IPv4 header length %d, at least 20 expected", hl)
	}
	if len(raw) < hl {
		return Packet{}, fmt.Errorf("%w: %d bytes, the IPv4 header has %d", ErrTruncated, len(raw), hl)
	}
	total := int(binary.BigEndian.Uint16(raw[2:4]))
	if total == 0 { // GSO or BIG TCP: the packet is all the bytes there are
		total = len(raw)
	}
	if total < hl {
		return Packet{}, fmt.Errorf("pktfilter: IPv4 total length %d shorter than its header (%d)", total, hl)
	}
	if len(raw) < total {
		return Packet{}, fmt.Errorf("%w: %d bytes of an IPv4 packet of %d", ErrTruncated, len(raw), total)
	}
	raw = raw[:total]
	if frag := binary.BigEndian.Uint16(raw[6:8]); frag&0x3fff != 0 { // MF or a fragment offset
		return Packet{}, fmt.Errorf("pktfilter: IPv4 fragment (flags and offset %#04x)", frag)
	}
	if raw[9] != protoTCP {
		return Packet{}, fmt.Errorf("pktfilter: IPv4 protocol %d, want TCP (6)", raw[9])
	}
	return Packet{
		Raw:       raw,
		V4:        true,
		Src:       netip.AddrFrom4([4]byte(raw[12:16])),
		Dst:       netip.AddrFrom4([4]byte(raw[16:20])),
		TCPOff:    hl,
		pseudoDst: 16,
	}, nil
}

// parseIPv6 reads the IPv6 header and its extension headers up to TCP.
func parseIPv6(raw []byte) (Packet, error) {
	if len(raw) < 40 {
		return Packet{}, fmt.Errorf("%w: %d bytes, an IPv6 header has 40", ErrTruncated, len(raw))
	}
	if plen := int(binary.BigEndian.Uint16(raw[4:6])); plen != 0 { // 0: jumbo or BIG TCP, all of raw
		if len(raw) < 40+plen {
			return Packet{}, fmt.Errorf("%w: %d bytes of an IPv6 packet of %d", ErrTruncated, len(raw), 40+plen)
		}
		raw = raw[:40+plen]
	}
	tcpOff, dst, err := walkIPv6(raw)
	if err != nil {
		return Packet{}, err
	}
	return Packet{
		Raw:       raw,
		Src:       netip.AddrFrom16([16]byte(raw[8:24])),
		Dst:       netip.AddrFrom16([16]byte(raw[24:40])),
		TCPOff:    tcpOff,
		pseudoDst: dst,
	}, nil
}

// walkIPv6 follows the IPv6 extension headers (hop-by-hop, routing, destination options)
// to the TCP header; it returns the TCP header's offset and that of the destination
// address the checksum covers.
func walkIPv6(raw []byte) (tcpOff, dst int, err error) {
	next, off, dst := raw[6], 40, 24
	for next != protoTCP {
		switch next {
		case protoHopByHop, protoRouting, protoDestOpts:
		case protoFragment:
			return 0, 0, errors.New("pktfilter: IPv6 fragment")
		default:
			return 0, 0, fmt.Errorf("pktfilter: IPv6 next header %d, want TCP (6)", next)
		}
		if next == protoHopByHop && off != 40 {
			return 0, 0, errors.New("pktfilter: IPv6 hop-by-hop options after another extension header")
		}
		if len(raw) < off+8 || len(raw) < off+(int(raw[off+1])+1)*8 {
			return 0, 0, fmt.Errorf("pktfilter: IPv6 extension header %d at %d runs past the packet's end (%d)", next, off, len(raw))
		}
		hl := (int(raw[off+1]) + 1) * 8
		if next == protoRouting {
			d, err := routingDst(raw[off : off+hl])
			if err != nil {
				return 0, 0, err
			}
			if d > 0 {
				dst = off + d
			}
		}
		next, off = raw[off], off+hl
	}
	return off, dst, nil
}

// routingDst returns the offset in the routing header h of the final destination's address
// when the packet has segments left to visit (0 when it has not: the IPv6 header's
// destination is the final one).
func routingDst(h []byte) (int, error) {
	typ, left, n := h[2], h[3], int(h[1])/2 // n: addresses that fit in the header
	switch {
	case left == 0:
		return 0, nil
	case (typ == 0 || typ == 2) && n > 0: // the last address is the final destination
		return 8 + 16*(n-1), nil
	case typ == 4 && n > 0: // segment routing (RFC 8754): Segment List[0] is the last segment
		return 8, nil
	}
	return 0, fmt.Errorf("pktfilter: IPv6 routing header type %d (%d segments left) not understood", typ, left)
}

// parseTCP reads the TCP header at p.TCPOff.
func (p *Packet) parseTCP() error {
	seg := p.Raw[p.TCPOff:]
	if len(seg) < 20 {
		return fmt.Errorf("pktfilter: TCP segment of %d bytes, its header has at least 20", len(seg))
	}
	hl := int(seg[12]>>4) * 4
	if hl < 20 {
		return fmt.Errorf("pktfilter: TCP data offset %d, at least 20 expected", hl)
	}
	if hl > len(seg) {
		return fmt.Errorf("pktfilter: TCP header of %d bytes in a segment of %d", hl, len(seg))
	}
	p.SrcPort = binary.BigEndian.Uint16(seg[0:2])
	p.DstPort = binary.BigEndian.Uint16(seg[2:4])
	p.Seq = binary.BigEndian.Uint32(seg[4:8])
	p.Ack = binary.BigEndian.Uint32(seg[8:12])
	p.Flags = seg[13]
	p.PayloadOff = p.TCPOff + hl
	return nil
}

// Payload returns the TCP payload (Raw[PayloadOff:]); changing it changes Raw.
func (p *Packet) Payload() []byte { return p.Raw[p.PayloadOff:] }

// FixChecksum recomputes the TCP checksum in Raw, for after the payload was changed in
// place (same length, so the IPv4 header checksum stays right). Raw, V4 and TCPOff must be
// as Parse set them (a Packet made otherwise has its IPv6 checksum cover the header's
// destination, routing header or not).
// The pseudo header's TCP length is 32 bits for both families; for IPv4 it is the same sum
// as the 16-bit field whenever the segment fits in one (all but BIG TCP packets, whose
// checksum the kernel computes again when it segments them).
func (p *Packet) FixChecksum() {
	seg := p.Raw[p.TCPOff:]
	seg[16], seg[17] = 0, 0
	var sum uint64
	if p.V4 {
		sum = csumAdd(0, p.Raw[12:20]) // source and destination
	} else {
		dst := p.pseudoDst
		if dst == 0 {
			dst = 24
		}
		sum = csumAdd(0, p.Raw[8:24])
		sum = csumAdd(sum, p.Raw[dst:dst+16])
	}
	sum = add1(sum, uint64(len(seg))+protoTCP)
	sum = csumAdd(sum, seg)
	binary.BigEndian.PutUint16(seg[16:18], ^csumFold(sum))
}

// add1 adds x to the one's complement accumulator sum (end-around carry).
func add1(sum, x uint64) uint64 {
	sum, c := bits.Add64(sum, x, 0)
	return sum + c // no new carry: when the add carried, sum is below x
}

// csumAdd adds b, as 16-bit big-endian words (an odd last byte padded with a zero), to the
// one's complement accumulator sum. It adds eight bytes at a time with end-around carry: in
// one's complement arithmetic 2^16 is 1, so a 64-bit word sums to the same as its four
// 16-bit words, and the fold at the end brings the 64-bit sum down to 16 bits.
func csumAdd(sum uint64, b []byte) uint64 {
	var c uint64
	for len(b) >= 64 { // unrolled: the adds form one carry chain (ADC), the loop costs the rest
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[8:16]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[16:24]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[24:32]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[32:40]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[40:48]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[48:56]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[56:64]), c)
		b = b[64:]
	}
	for len(b) >= 8 {
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	sum = add1(sum, c)
	if len(b) > 0 { // 1 to 7 bytes: one word, zero-padded
		var last [8]byte
		copy(last[:], b)
		sum = add1(sum, binary.BigEndian.Uint64(last[:]))
	}
	return sum
}

// csumFold folds a 64-bit one's complement sum to 16 bits.
func csumFold(sum uint64) uint16 {
	sum = sum>>32 + sum&0xffffffff // at most 2^33-2
	sum = sum>>32 + sum&0xffffffff // at most 2^32-1
	sum = sum>>16 + sum&0xffff     // at most 0x1fffe
	sum = sum>>16 + sum&0xffff     // at most 0xffff
	return uint16(sum)
}
