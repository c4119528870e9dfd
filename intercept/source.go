package intercept

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// SourceFor returns the address this box uses to reach dst: the preferred source of the route
// lookup (`ip route get DST`, through vishvananda/netlink RouteGet), falling back to an
// address of the route's outgoing link of the same family when the route has no source. h nil
// means the current namespace (of the calling OS thread).
func SourceFor(h *netlink.Handle, dst netip.Addr) (netip.Addr, error) {
	if !dst.IsValid() {
		return netip.Addr{}, errors.New("intercept: source for an invalid address")
	}
	dst = dst.Unmap()
	if h == nil {
		// The zero Handle opens a socket per request in the current network namespace.
		h = &netlink.Handle{}
	}
	routes, err := h.RouteGet(net.IP(dst.AsSlice()))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("intercept: route to %s: %w", dst, err)
	}
	if len(routes) == 0 {
		return netip.Addr{}, fmt.Errorf("intercept: route to %s: no route", dst)
	}
	route := routes[0]
	if src, ok := netip.AddrFromSlice(route.Src); ok && src.Unmap().Is4() == dst.Is4() && !src.IsUnspecified() {
		return src.Unmap(), nil
	}
	if route.LinkIndex == 0 {
		return netip.Addr{}, fmt.Errorf("intercept: route to %s: no source address and no outgoing link", dst)
	}
	link, err := h.LinkByIndex(route.LinkIndex)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("intercept: route to %s: outgoing link %d: %w", dst, route.LinkIndex, err)
	}
	family := netlink.FAMILY_V6
	if dst.Is4() {
		family = netlink.FAMILY_V4
	}
	addrs, err := h.AddrList(link, family)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("intercept: route to %s: addresses of %s: %w", dst, link.Attrs().Name, err)
	}
	src, ok := pickSource(addrs, dst.Is4())
	if !ok {
		return netip.Addr{}, fmt.Errorf("intercept: route to %s: no usable address on %s", dst, link.Attrs().Name)
	}
	return src, nil
}

// pickSource returns the first address of addrs usable as a source toward a global
// destination of the given family: global scope, not tentative, failed or deprecated.
func pickSource(addrs []netlink.Addr, is4 bool) (netip.Addr, bool) {
	const unusable = unix.IFA_F_TENTATIVE | unix.IFA_F_DADFAILED | unix.IFA_F_DEPRECATED
	for _, a := range addrs {
		if a.IPNet == nil || a.Scope != unix.RT_SCOPE_UNIVERSE || a.Flags&unusable != 0 {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		if ip = ip.Unmap(); ip.Is4() == is4 && !ip.IsUnspecified() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}
