package intercept

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dialer connects onward to the real server. The zero value is usable: no connect timeout
// beyond the context's, no mark.
type Dialer struct {
	// Timeout bounds the connect; zero means only the context bounds it.
	Timeout time.Duration
	// Mark, when non-zero, is set as SO_MARK on the socket before it connects.
	Mark uint32
}

// Dial connects to dst. If src is valid the socket gets IP_TRANSPARENT (IPv4) or
// IPV6_TRANSPARENT (IPv6) and is bound to src:0 before connecting, so the server sees src,
// typically the client's own address, although the box does not own it. The port is 0 on
// purpose: reusing the client's port would clash with the box's conntrack entry of the
// original flow. If src is the zero netip.Addr the kernel picks the box's own address. src
// and dst must be of the same family (IPv4-mapped addresses count as IPv4). TCP keepalive is
// on. The socket is created in the calling OS thread's network namespace.
func (d *Dialer) Dial(ctx context.Context, src netip.Addr, dst netip.AddrPort) (*net.TCPConn, error) {
	return d.DialPort(ctx, netip.AddrPortFrom(src, 0), dst)
}

// DialPort is Dial from a chosen source port as well (port 0: the kernel picks one), for
// active-mode data connections that must come from port 20. A fixed port gets SO_REUSEADDR,
// so sockets of earlier transfers in TIME_WAIT do not block it.
func (d *Dialer) DialPort(ctx context.Context, srcAP netip.AddrPort, dst netip.AddrPort) (*net.TCPConn, error) {
	src := srcAP.Addr()
	if !dst.IsValid() {
		return nil, errors.New("intercept: dial: invalid destination")
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	network := "tcp6"
	if dst.Addr().Is4() {
		network = "tcp4"
	}

	var opts []sockopt
	nd := net.Dialer{
		Timeout:         d.Timeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true},
	}
	if src.IsValid() {
		src = src.Unmap()
		if src.Is4() != dst.Addr().Is4() {
			return nil, fmt.Errorf("intercept: dial %s from %s: address families differ", dst, src)
		}
		if src.Is4() {
			opts = append(opts, sockopt{"IP_TRANSPARENT", unix.SOL_IP, unix.IP_TRANSPARENT, 1})
		} else {
			opts = append(opts, sockopt{"IPV6_TRANSPARENT", unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1})
		}
		nd.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, srcAP.Port()))
		if srcAP.Port() != 0 {
			opts = append(opts, sockopt{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1})
		}
	}
	if d.Mark != 0 {
		opts = append(opts, sockopt{"SO_MARK", unix.SOL_SOCKET, unix.SO_MARK, int(d.Mark)})
	}
	if len(opts) > 0 {
		// Control runs after the socket is created and before bind and connect.
		nd.Control = func(_, _ string, c syscall.RawConn) error {
			return setSockopts(c, opts)
		}
	}

	c, err := nd.DialContext(ctx, network, dst.String())
	if err != nil {
		if src.IsValid() {
			return nil, fmt.Errorf("intercept: dial %s from %s: %w", dst, src, err)
		}
		return nil, fmt.Errorf("intercept: dial %s: %w", dst, err)
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("intercept: dial %s: unexpected connection type %T", dst, c)
	}
	return tc, nil
}
