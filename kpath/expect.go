package kpath

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

// ctnetlink attribute and message numbers (linux/netfilter/nfnetlink_conntrack.h) for the
// expectation messages github.com/ti-mo/conntrack does not send: a creation with its
// timeout changed in the same sendmsg.
const (
	ctaExpectMaster  = 1
	ctaExpectTuple   = 2
	ctaExpectMask    = 3
	ctaExpectTimeout = 4
	ctaTupleIP       = 1
	ctaTupleProto    = 2
	ctaIPv4Src       = 1
	ctaIPv4Dst       = 2
	ctaIPv6Src       = 3
	ctaIPv6Dst       = 4
	ctaProtoNum      = 1
	ctaProtoSrc      = 2
	ctaProtoDst      = 3
	msgExpNew        = 0 // IPCTNL_MSG_EXP_NEW

	tcpEstablished = 3 // TCP_CONNTRACK_ESTABLISHED
	tcpFinWait     = 4 // TCP_CONNTRACK_FIN_WAIT: the first FIN seen; later states are higher
)

// tuple is a TCP conntrack tuple.
func tuple(src, dst netip.Addr, sport, dport uint16) conntrack.Tuple {
	return conntrack.Tuple{
		IP:    conntrack.IPTuple{SourceAddress: src, DestinationAddress: dst},
		Proto: conntrack.ProtoTuple{Protocol: unix.IPPROTO_TCP, SourcePort: sport, DestinationPort: dport},
	}
}

// ones is the all-ones address of a's family (an exact mask).
func ones(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	var b [16]byte
	for i := range b {
		b[i] = 0xff
	}
	return netip.AddrFrom16(b)
}

// tupleAttr encodes a TCP tuple as the nested attribute typ.
func tupleAttr(typ uint16, src, dst netip.Addr, sport, dport uint16) netfilter.Attribute {
	st, dt := uint16(ctaIPv4Src), uint16(ctaIPv4Dst)
	if src.Is6() {
		st, dt = ctaIPv6Src, ctaIPv6Dst
	}
	return netfilter.Attribute{Type: typ, Nested: true, Children: []netfilter.Attribute{
		{Type: ctaTupleIP, Nested: true, Children: []netfilter.Attribute{{Type: st, Data: src.AsSlice()}, {Type: dt, Data: dst.AsSlice()}}},
		{Type: ctaTupleProto, Nested: true, Children: []netfilter.Attribute{
			{Type: ctaProtoNum, Data: []byte{unix.IPPROTO_TCP}},
			{Type: ctaProtoSrc, Data: netfilter.Uint16Bytes(sport)},
			{Type: ctaProtoDst, Data: netfilter.Uint16Bytes(dport)},
		}},
	}}
}

// expectLocked creates the expectation of m's pinhole (any source port) and sets its
// timeout, in one sendmsg: the kernel gives a new expectation the helper's own timeout (300 s
// for ftp), and only a change message sets ours, so a crash between the two cannot leave a
// long-lived pinhole. The expectation names no helper, so the data connection gets none.
func (k *Conntrack) expectLocked(m master, timeout time.Duration) error {
	p := m.pin
	fam := netfilter.ProtoIPv4
	if p.Src.Is6() {
		fam = netfilter.ProtoIPv6
	}
	attrs := []netfilter.Attribute{
		tupleAttr(ctaExpectMaster, m.orig.IP.SourceAddress, m.orig.IP.DestinationAddress, 0, m.orig.Proto.DestinationPort),
		tupleAttr(ctaExpectTuple, p.Src, p.Dst, 0, p.Port),
		tupleAttr(ctaExpectMask, ones(p.Src), ones(p.Dst), 0, 0xffff),
		{Type: ctaExpectTimeout, Data: netfilter.Uint32Bytes(uint32((timeout + time.Second - 1) / time.Second))},
	}
	var msgs []netlink.Message
	for _, flags := range []netlink.HeaderFlags{netlink.Create | netlink.Excl, 0} {
		msg, err := netfilter.MarshalNetlink(netfilter.Header{
			SubsystemID: netfilter.NFSubsysCTNetlinkExp, MessageType: msgExpNew, Family: fam,
			Flags: netlink.Request | netlink.Acknowledge | flags,
		}, attrs)
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	sent, err := k.nl.SendMessages(msgs)
	if err != nil {
		return err
	}
	want := map[uint32]bool{}
	for _, s := range sent {
		want[s.Header.Sequence] = true
	}
	for range 16 { // the acks of both messages; an error ack is returned as an error
		if len(want) == 0 {
			return nil
		}
		rs, err := k.nl.Receive()
		if err != nil {
			k.drainLocked(len(want) - 1)
			return err
		}
		for _, r := range rs {
			delete(want, r.Header.Sequence)
		}
	}
	return fmt.Errorf("no acknowledgement of %d messages", len(want))
}

// drainLocked reads up to n outstanding acknowledgements after an error, so that they do
// not answer a later request; a short read deadline bounds it.
func (k *Conntrack) drainLocked(n int) {
	if n <= 0 {
		return
	}
	k.nl.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	defer k.nl.SetReadDeadline(time.Time{})
	for range n {
		if _, err := k.nl.Receive(); err != nil {
			return
		}
	}
}
