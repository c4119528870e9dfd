package nft

import (
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Registers. NFT_REG_1 (1) is the 16-byte register that overlaps the 32-bit registers
// NFT_REG32_00..03 (8..11); NFT_REG_2 (2) overlaps 12..15; 16 is NFT_REG32_08. A concatenated
// lookup reads consecutive 32-bit registers starting at its source register.
const (
	regScratch = 1  // NFT_REG_1: matches, immediates
	regV4Dst   = 9  // NFT_REG32_01, right after the 4-byte IPv4 source in NFT_REG32_00
	regV4Port  = 10 // NFT_REG32_02
	regV6Dst   = 2  // NFT_REG_2 = NFT_REG32_04..07, right after the 16-byte IPv6 source
	regV6Port  = 16 // NFT_REG32_08
)

// ruleSet is the objects one Setup batch adds after the table itself.
type ruleSet struct {
	set4, set6 *nftables.Set
	chain      *nftables.Chain
	// guard drops TCP port 0 at raw priority (ChainGuard); guardRules are its rules.
	guard      *nftables.Chain
	guardRules [][]expr.Any
	// cut resets the kernel path's cut connections (ChainCut); cutRules are its rules.
	cut      *nftables.Chain
	cutRules [][]expr.Any
	// ports is the anonymous set of control ports, nil for a single port.
	ports     *nftables.Set
	portElems []nftables.SetElement
	rules     [][]expr.Any
}

// Set IDs only need to be unique inside one batch. Assigning them ourselves keeps
// google/nftables from touching its unsynchronised package-level ID counter.
const (
	setIDData4 = 1 + iota
	setIDData6
	setIDPorts
)

// newSets returns the data4 and data6 set descriptions of table t. HasTimeout must be true on
// the values later passed to SetAddElements, or element timeouts are not sent.
func newSets(t *nftables.Table, cfg Config) (set4, set6 *nftables.Set) {
	// set data4 { type ipv4_addr . ipv4_addr . inet_service; flags timeout; timeout 30s; }
	set4 = &nftables.Set{
		Table: t, ID: setIDData4, Name: SetData4,
		KeyType:       nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeIPAddr, nftables.TypeInetService),
		Concatenation: true, HasTimeout: true, Timeout: cfg.Timeout,
	}
	// set data6 { type ipv6_addr . ipv6_addr . inet_service; flags timeout; timeout 30s; }
	set6 = &nftables.Set{
		Table: t, ID: setIDData6, Name: SetData6,
		KeyType:       nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeIP6Addr, nftables.TypeInetService),
		Concatenation: true, HasTimeout: true, Timeout: cfg.Timeout,
	}
	return set4, set6
}

// buildRules describes the chain and its rules for table t (cfg with defaults applied).
func buildRules(t *nftables.Table, cfg Config) *ruleSet {
	rs := &ruleSet{}
	rs.set4, rs.set6 = newSets(t, cfg)
	// chain prerouting { type filter hook prerouting priority mangle; policy accept; }
	accept := nftables.ChainPolicyAccept
	rs.chain = &nftables.Chain{
		Name: ChainPrerouting, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookRef(unix.NF_INET_PRE_ROUTING),
		Priority: nftables.ChainPriorityRef(-150), // mangle
		Policy:   &accept,
	}

	// ct mark & 0xff000000 == 0x46000000 accept
	kernel := []expr.Any{
		&expr.Ct{Register: regScratch, Key: expr.CtKeyMARK},
		&expr.Bitwise{SourceRegister: regScratch, DestRegister: regScratch, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(KernelMarkMask), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: binaryutil.NativeEndian.PutUint32(KernelMark)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}

	// meta l4proto tcp socket transparent 1 meta mark set 0x1 accept
	socket := join(l4protoTCP(), []expr.Any{
		&expr.Socket{Key: expr.SocketKeyTransparent, Register: regScratch},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: []byte{1}},
	}, markAccept(cfg))

	// tcp dport 21 tproxy to :2121 meta mark set 0x1 accept
	// tcp dport { 21, 990 } tproxy to :2121 meta mark set 0x1 accept
	ports := cfg.controlPorts()
	dport := []expr.Any{&expr.Payload{
		DestRegister: regScratch, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2,
	}}
	if len(ports) == 1 {
		dport = append(dport, &expr.Cmp{Op: expr.CmpOpEq, Register: regScratch,
			Data: binaryutil.BigEndian.PutUint16(ports[0])})
	} else {
		rs.ports = &nftables.Set{
			Table: t, ID: setIDPorts, Name: "__set%d", Anonymous: true, Constant: true,
			KeyType: nftables.TypeInetService,
		}
		for _, p := range ports {
			rs.portElems = append(rs.portElems, nftables.SetElement{Key: binaryutil.BigEndian.PutUint16(p)})
		}
		dport = append(dport, &expr.Lookup{SourceRegister: regScratch, SetName: rs.ports.Name, SetID: rs.ports.ID})
	}
	// Family 0 (unspecified): the inet tproxy handles both IPv4 and IPv6 packets.
	control := join(l4protoTCP(), dport, tproxyTo(0, cfg.ControlListen), markAccept(cfg))

	// meta nfproto ipv4 ip saddr . ip daddr . tcp dport @data4 tproxy ip to :2120 meta mark set 0x1 accept
	data4 := join(nfproto(unix.NFPROTO_IPV4), l4protoTCP(), []expr.Any{
		&expr.Payload{DestRegister: regScratch, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Payload{DestRegister: regV4Dst, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: regV4Port, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: regScratch, SetName: rs.set4.Name, SetID: rs.set4.ID},
	}, tproxyTo(unix.NFPROTO_IPV4, cfg.DataListen), markAccept(cfg))

	// meta nfproto ipv6 ip6 saddr . ip6 daddr . tcp dport @data6 tproxy ip6 to :2120 meta mark set 0x1 accept
	data6 := join(nfproto(unix.NFPROTO_IPV6), l4protoTCP(), []expr.Any{
		&expr.Payload{DestRegister: regScratch, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
		&expr.Payload{DestRegister: regV6Dst, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
		&expr.Payload{DestRegister: regV6Port, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: regScratch, SetName: rs.set6.Name, SetID: rs.set6.ID},
	}, tproxyTo(unix.NFPROTO_IPV6, cfg.DataListen), markAccept(cfg))

	rs.rules = [][]expr.Any{kernel, socket, control, data4, data6}

	// chain guard { type filter hook prerouting priority raw; policy accept; }
	rs.guard = &nftables.Chain{
		Name: ChainGuard, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookRef(unix.NF_INET_PRE_ROUTING),
		Priority: nftables.ChainPriorityRef(-300), // raw: before connection tracking
		Policy:   &accept,
	}
	// tcp sport 0 drop
	// tcp dport 0 drop
	for _, offset := range []uint32{0, 2} {
		rs.guardRules = append(rs.guardRules, join(l4protoTCP(), []expr.Any{
			&expr.Payload{DestRegister: regScratch, Base: expr.PayloadBaseTransportHeader, Offset: offset, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: []byte{0, 0}},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}))
	}

	// chain cut { type filter hook forward priority -5; policy accept; }
	rs.cut = &nftables.Chain{
		Name: ChainCut, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookRef(unix.NF_INET_FORWARD),
		Priority: nftables.ChainPriorityRef(-5),
		Policy:   &accept,
	}
	// ct mark & 0xff000000 == 0x47000000 reject with tcp reset
	rs.cutRules = [][]expr.Any{join(l4protoTCP(), []expr.Any{
		&expr.Ct{Register: regScratch, Key: expr.CtKeyMARK},
		&expr.Bitwise{SourceRegister: regScratch, DestRegister: regScratch, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(KernelMarkMask), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: binaryutil.NativeEndian.PutUint32(CutMark)},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST},
	})}
	return rs
}

// l4protoTCP is `meta l4proto tcp`.
func l4protoTCP() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: regScratch},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: []byte{unix.IPPROTO_TCP}},
	}
}

// nfproto is `meta nfproto ipv4` or `meta nfproto ipv6`.
func nfproto(family byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: regScratch},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regScratch, Data: []byte{family}},
	}
}

// tproxyTo is `tproxy to :port` (family 0), `tproxy ip to :port` or `tproxy ip6 to :port`.
func tproxyTo(family byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: regScratch, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.TProxy{Family: family, TableFamily: byte(nftables.TableFamilyINet), RegPort: regScratch},
	}
}

// markAccept sets ftpgate's mark and accepts. With the whole mark ftpgate's (MarkMask
// 0xffffffff, the default) it is
//
//	meta mark set 0x1 accept
//
// and otherwise it keeps the bits outside the mask, for the rest of the rule set:
//
//	meta mark set meta mark & 0xffff00ff | 0x00000100 accept    (-mark 0x100 -mark-mask 0xff00)
//
// which is the bytecode [ meta load mark => reg 1 ] [ bitwise reg 1 = ( reg 1 & 0xffff00ff )
// ^ 0x00000100 ] [ meta set mark with reg 1 ]. `nft list table` prints it back with the mark's
// bits added to the AND mask, `meta mark & 0xffff01ff | 0x00000100`, or `meta mark | 0x00000100`
// when that mask is all ones; both are the same operation (the mark lies inside MarkMask).
func markAccept(cfg Config) []expr.Any {
	var set []expr.Any
	if cfg.MarkMask == 0xffffffff {
		set = []expr.Any{&expr.Immediate{Register: regScratch, Data: binaryutil.NativeEndian.PutUint32(cfg.Mark)}}
	} else {
		set = []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: regScratch},
			&expr.Bitwise{SourceRegister: regScratch, DestRegister: regScratch, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(^cfg.MarkMask),
				Xor:  binaryutil.NativeEndian.PutUint32(cfg.Mark)},
		}
	}
	return append(set,
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: regScratch},
		&expr.Verdict{Kind: expr.VerdictAccept},
	)
}

// join concatenates expression lists into one rule.
func join(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
