package pktfilter

import "encoding/binary"

// Reset returns a TCP reset that takes the place of packet p on its way: same addresses,
// ports and sequence number, no payload, no options, RST and ACK set. The filter sends it on
// instead of the packet that stopped a transfer, so the receiver learns at once that the
// transfer ended (the sender learns from the cut chain, at its next packet). IPv4 options
// and IPv6 extension headers are left out.
func Reset(p *Packet) []byte {
	ip := 20
	if !p.V4 {
		ip = 40
	}
	b := make([]byte, ip+20)
	if p.V4 {
		copy(b, p.Raw[:20])
		b[0] = 0x45
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		binary.BigEndian.PutUint16(b[6:], 0x4000) // don't fragment, no offset
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], ipv4Checksum(b[:20]))
	} else {
		copy(b, p.Raw[:8])
		binary.BigEndian.PutUint16(b[4:], 20)
		b[6] = protoTCP
		copy(b[8:24], p.Src.AsSlice())
		copy(b[24:40], p.Dst.AsSlice())
	}
	t := b[ip:]
	copy(t, p.Raw[p.TCPOff:p.TCPOff+8]) // ports, sequence number
	binary.BigEndian.PutUint32(t[8:], p.Ack)
	t[12] = 5 << 4
	t[13] = FlagRST | FlagACK
	r, err := Parse(b)
	if err != nil { // cannot happen: b is a well-formed packet
		return nil
	}
	r.FixChecksum()
	return r.Raw
}

// ipv4Checksum is the header checksum of an IPv4 header whose checksum field is zero.
func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
