package intercept

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// errNotTCP is returned when an address is not a *net.TCPAddr.
var errNotTCP = errors.New("not a TCP address")

// OriginalDst returns the original destination of c, a connection accepted on a TPROXY
// listener: with TPROXY the connection's local address is the address and port the client
// meant to reach. IPv4-mapped IPv6 addresses are unmapped.
func OriginalDst(c net.Conn) (netip.AddrPort, error) {
	if c == nil {
		return netip.AddrPort{}, errors.New("intercept: original destination: nil connection")
	}
	ap, err := tcpAddrPort(c.LocalAddr())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("intercept: original destination: %w", err)
	}
	return ap, nil
}

// Peer returns the remote address of c as a netip.AddrPort; IPv4-mapped IPv6 addresses are
// unmapped.
func Peer(c net.Conn) (netip.AddrPort, error) {
	if c == nil {
		return netip.AddrPort{}, errors.New("intercept: peer: nil connection")
	}
	ap, err := tcpAddrPort(c.RemoteAddr())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("intercept: peer: %w", err)
	}
	return ap, nil
}

// tcpAddrPort converts a *net.TCPAddr to an unmapped netip.AddrPort. The IPv6 zone, if
// any, is kept.
func tcpAddrPort(a net.Addr) (netip.AddrPort, error) {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %T", errNotTCP, a)
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("invalid IP %q", ta.IP)
	}
	ip = ip.Unmap()
	if ta.Zone != "" && ip.Is6() {
		ip = ip.WithZone(ta.Zone)
	}
	if ta.Port < 0 || ta.Port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("invalid port %d", ta.Port)
	}
	return netip.AddrPortFrom(ip, uint16(ta.Port)), nil
}

// AddrPort converts a TCP address to an unmapped netip.AddrPort, as OriginalDst and Peer
// do; anything else gives the zero AddrPort.
func AddrPort(a net.Addr) netip.AddrPort {
	ap, _ := tcpAddrPort(a)
	return ap
}
