package intercept

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestSourceFor builds a namespace with two veth pairs (both ends inside it; d0 and d1 carry
// the addresses, p0 and p1 stay bare) and a route through a gateway:
//
//	d0: 203.0.113.1/24, 2001:db8:2::1/64
//	d1: 198.51.100.1/25, 2001:db8:1::1/64
//	198.51.100.192/26 via 203.0.113.254, 2001:db8:99::/48 via 2001:db8:2::254
//
// and checks the source the route lookup picks; anything else has no route.
func TestSourceFor(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "src")
	for _, args := range [][]string{
		{"link", "add", "d0", "type", "veth", "peer", "name", "p0"},
		{"link", "add", "d1", "type", "veth", "peer", "name", "p1"},
		{"link", "set", "p0", "up"},
		{"link", "set", "p1", "up"},
		{"link", "set", "d0", "up"},
		{"link", "set", "d1", "up"},
		{"addr", "add", "203.0.113.1/24", "dev", "d0"},
		{"addr", "add", "2001:db8:2::1/64", "dev", "d0"},
		{"addr", "add", "198.51.100.1/25", "dev", "d1"},
		{"addr", "add", "2001:db8:1::1/64", "dev", "d1"},
		{"route", "add", "198.51.100.192/26", "via", "203.0.113.254"},
		{"route", "add", "2001:db8:99::/48", "via", "2001:db8:2::254"},
	} {
		runCmd(t, "ip", append([]string{"-n", ns}, args...)...)
	}
	h := nsHandle(t, ns)
	for _, tc := range []struct {
		dst, want string // want "" means an error
	}{
		{"203.0.113.2", "203.0.113.1"},
		{"2001:db8:2::2", "2001:db8:2::1"},
		{"::ffff:203.0.113.2", "203.0.113.1"}, // mapped: looked up as IPv4
		{"198.51.100.7", "198.51.100.1"},
		{"2001:db8:1::7", "2001:db8:1::1"},
		{"198.51.100.200", "203.0.113.1"}, // via the gateway on d0, not d1's prefix
		{"2001:db8:99::5", "2001:db8:2::1"},
		{"198.51.100.150", ""}, // no route: d1 has only the lower half
		{"2001:db8:3::1", ""},
	} {
		got, err := SourceFor(h, netip.MustParseAddr(tc.dst))
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("SourceFor(%s) = %s, want an error", tc.dst, got)
		case tc.want != "" && (err != nil || got != netip.MustParseAddr(tc.want)):
			t.Errorf("SourceFor(%s) = %s, %v; want %s", tc.dst, got, err, tc.want)
		}
	}

	// A nil handle means the calling thread's namespace.
	var got netip.Addr
	inNS(t, ns, func() (err error) {
		got, err = SourceFor(nil, netip.MustParseAddr("2001:db8:2::2"))
		return err
	})
	if got != netip.MustParseAddr("2001:db8:2::1") {
		t.Errorf("SourceFor(nil, 2001:db8:2::2) in the namespace = %s, want 2001:db8:2::1", got)
	}
}

func TestSourceForInvalid(t *testing.T) {
	if got, err := SourceFor(nil, netip.Addr{}); err == nil {
		t.Fatalf("SourceFor(invalid) = %s, want an error", got)
	}
}

// TestPickSource covers the fallback for a route without a preferred source: the first
// usable address of the outgoing link in the destination's family.
func TestPickSource(t *testing.T) {
	addr := func(s string, scope, flags int) netlink.Addr {
		p := netip.MustParsePrefix(s)
		return netlink.Addr{
			IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
			Scope: scope,
			Flags: flags,
		}
	}
	global := unix.RT_SCOPE_UNIVERSE
	for _, tc := range []struct {
		name  string
		addrs []netlink.Addr
		is4   bool
		want  string // "" means none
	}{
		{"none", nil, true, ""},
		{"ipv4", []netlink.Addr{addr("203.0.113.1/24", global, 0)}, true, "203.0.113.1"},
		{"family mismatch", []netlink.Addr{addr("2001:db8:2::1/64", global, 0)}, true, ""},
		{"skips link-local", []netlink.Addr{
			addr("fe80::1/64", unix.RT_SCOPE_LINK, 0),
			addr("2001:db8:2::1/64", global, 0),
		}, false, "2001:db8:2::1"},
		{"skips tentative and deprecated", []netlink.Addr{
			addr("2001:db8:2::1/64", global, unix.IFA_F_TENTATIVE),
			addr("2001:db8:2::2/64", global, unix.IFA_F_DEPRECATED),
			addr("2001:db8:2::3/64", global, unix.IFA_F_DADFAILED),
			addr("2001:db8:2::4/64", global, 0),
		}, false, "2001:db8:2::4"},
		{"only host scope", []netlink.Addr{addr("203.0.113.1/32", unix.RT_SCOPE_HOST, 0)}, true, ""},
		{"nil network", []netlink.Addr{{}}, true, ""},
	} {
		got, ok := pickSource(tc.addrs, tc.is4)
		switch {
		case tc.want == "" && ok:
			t.Errorf("%s: pickSource = %s, want none", tc.name, got)
		case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
			t.Errorf("%s: pickSource = %s, %v; want %s", tc.name, got, ok, tc.want)
		}
	}
}
