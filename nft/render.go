package nft

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names of the objects inside the table. They are fixed: the table name is the only knob.
const (
	// SetData4 is the IPv4 expectation set: ipv4_addr . ipv4_addr . inet_service.
	SetData4 = "data4"
	// SetData6 is the IPv6 expectation set: ipv6_addr . ipv6_addr . inet_service.
	SetData6 = "data6"
	// ChainPrerouting is the interception chain, hooked at prerouting with mangle priority.
	ChainPrerouting = "prerouting"
	// ChainGuard drops TCP port 0 before connection tracking sees it (prerouting, raw
	// priority): no real connection uses it, and the kernel data path's conntrack masters
	// (kpath) carry it, so no forged packet can reach them.
	ChainGuard = "guard"
)

// guardRuleTexts are the rules of the guard chain. rules.go builds the same rules.
var guardRuleTexts = []string{"tcp sport 0 drop", "tcp dport 0 drop"}

// ChainCut resets the kernel data path's connections that ftpgate cut (an aborted transfer):
// kpath gives such a connection the connection mark CutMark (under KernelMarkMask), and every
// further packet of it is answered with a TCP reset, so both ends learn at once that the
// transfer ended (hooked at forward, before the filter priority).
const (
	ChainCut              = "cut"
	CutMark        uint32 = 0x47000000
	KernelMarkMask uint32 = 0xff000000
)

// KernelMark (under KernelMarkMask) is the connection mark of the kernel data path's
// connections (kpath): the prerouting chain lets their packets pass at once, without the
// socket and set lookups that only ftpgate's own connections need.
const KernelMark uint32 = 0x46000000

// kernelRuleText is the first rule of the prerouting chain. rules.go builds the same rule.
var kernelRuleText = fmt.Sprintf("ct mark & 0x%08x == 0x%08x accept", KernelMarkMask, KernelMark)

// cutRuleText is the rule of the cut chain. rules.go builds the same rule.
var cutRuleText = fmt.Sprintf("meta l4proto tcp ct mark & 0x%08x == 0x%08x reject with tcp reset", KernelMarkMask, CutMark)

// Render returns the nft text of the table described by cfg (zero fields take their
// defaults), in the layout of `nft list table` and loadable by `nft -f`. Several control ports
// are written as one rule with an anonymous set, `tcp dport { 21, 990 }`, the same rule
// Netlink installs; a single port is written as `tcp dport 21`.
//
// The text differs from what `nft list table` prints back only cosmetically: nft omits the
// implied `flags timeout` and `meta nfproto` and prints marks as 0x00000001.
func Render(cfg Config) string {
	return renderTable(cfg, nil, nil)
}

// renderTable renders the table with the given element lines (already formatted) inside the
// data4 and data6 set blocks.
func renderTable(cfg Config, elems4, elems6 []string) string {
	cfg = cfg.WithDefaults()
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", cfg.Table)
	renderSet(&b, SetData4, "ipv4_addr . ipv4_addr . inet_service", cfg.Timeout, elems4)
	b.WriteString("\n")
	renderSet(&b, SetData6, "ipv6_addr . ipv6_addr . inet_service", cfg.Timeout, elems6)
	b.WriteString("\n")
	fmt.Fprintf(&b, "\tchain %s {\n", ChainPrerouting)
	b.WriteString("\t\ttype filter hook prerouting priority mangle; policy accept;\n")
	for _, r := range ruleTexts(cfg) {
		fmt.Fprintf(&b, "\t\t%s\n", r)
	}
	b.WriteString("\t}\n\n")
	fmt.Fprintf(&b, "\tchain %s {\n", ChainGuard)
	b.WriteString("\t\ttype filter hook prerouting priority raw; policy accept;\n")
	for _, r := range guardRuleTexts {
		fmt.Fprintf(&b, "\t\t%s\n", r)
	}
	b.WriteString("\t}\n\n")
	fmt.Fprintf(&b, "\tchain %s {\n", ChainCut)
	b.WriteString("\t\ttype filter hook forward priority -5; policy accept;\n")
	fmt.Fprintf(&b, "\t\t%s\n", cutRuleText)
	b.WriteString("\t}\n")
	if cfg.Queue != 0 {
		renderQueue(&b, cfg)
	}
	b.WriteString("}\n")
	return b.String()
}

// renderSet writes one expectation set block.
func renderSet(b *strings.Builder, name, typ string, timeout time.Duration, elems []string) {
	fmt.Fprintf(b, "\tset %s {\n", name)
	fmt.Fprintf(b, "\t\ttype %s\n", typ)
	b.WriteString("\t\tflags timeout\n")
	fmt.Fprintf(b, "\t\ttimeout %s\n", formatDuration(timeout))
	if len(elems) > 0 {
		fmt.Fprintf(b, "\t\telements = { %s }\n", strings.Join(elems, ",\n\t\t\t     "))
	}
	b.WriteString("\t}\n")
}

// ruleTexts returns the four rules of the prerouting chain, in order. rules.go builds the
// same rules as expressions.
func ruleTexts(cfg Config) []string {
	cfg = cfg.WithDefaults()
	markAccept := markText(cfg) + " accept"
	ports := cfg.controlPorts()
	dport := strconv.Itoa(int(ports[0]))
	if len(ports) > 1 {
		strs := make([]string, len(ports))
		for i, p := range ports {
			strs[i] = strconv.Itoa(int(p))
		}
		dport = "{ " + strings.Join(strs, ", ") + " }"
	}
	return []string{
		kernelRuleText,
		"meta l4proto tcp socket transparent 1 " + markAccept,
		fmt.Sprintf("tcp dport %s tproxy to :%d %s", dport, cfg.ControlListen, markAccept),
		fmt.Sprintf("meta nfproto ipv4 ip saddr . ip daddr . tcp dport @%s tproxy ip to :%d %s",
			SetData4, cfg.DataListen, markAccept),
		fmt.Sprintf("meta nfproto ipv6 ip6 saddr . ip6 daddr . tcp dport @%s tproxy ip6 to :%d %s",
			SetData6, cfg.DataListen, markAccept),
	}
}

// markText is the mark statement of the rules (rules.go builds the same, see markAccept):
// `meta mark set 0x1`, or `meta mark set meta mark & 0xffff00ff | 0x00000100` when ftpgate
// owns only part of the mark.
func markText(cfg Config) string {
	if cfg.MarkMask == 0xffffffff {
		return fmt.Sprintf("meta mark set 0x%x", cfg.Mark)
	}
	return fmt.Sprintf("meta mark set meta mark & 0x%08x | 0x%08x", ^cfg.MarkMask, cfg.Mark)
}

// formatDuration writes d the way nft does: 1d2h3m4s5ms, truncated to milliseconds.
func formatDuration(d time.Duration) string {
	d = d.Truncate(time.Millisecond)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		unit time.Duration
		name string
	}{
		{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"},
	}
	for _, u := range units {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}
