package intercept

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listen opens a transparent TCP listener on addr: IP_TRANSPARENT for network "tcp4",
// IPV6_TRANSPARENT plus IPV6_V6ONLY for network "tcp6", and SO_REUSEADDR for both. Such a
// listener accepts connections that nftables redirects to it with `tproxy to :PORT`; the
// local address of an accepted connection is the client's original destination (see
// OriginalDst). Examples: Listen(ctx, "tcp4", "0.0.0.0:2121"), Listen(ctx, "tcp6",
// "[::]:2121"). The socket is created in the calling OS thread's network namespace.
func Listen(ctx context.Context, network, addr string) (*net.TCPListener, error) {
	var opts []sockopt
	switch network {
	case "tcp4":
		opts = []sockopt{
			{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
			{"IP_TRANSPARENT", unix.SOL_IP, unix.IP_TRANSPARENT, 1},
		}
	case "tcp6":
		opts = []sockopt{
			{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
			{"IPV6_V6ONLY", unix.SOL_IPV6, unix.IPV6_V6ONLY, 1},
			{"IPV6_TRANSPARENT", unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1},
		}
	default:
		return nil, fmt.Errorf("intercept: listen %s %s: network must be tcp4 or tcp6", network, addr)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return setSockopts(c, opts)
	}}
	l, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("intercept: transparent listen %s %s: %w", network, addr, err)
	}
	tl, ok := l.(*net.TCPListener)
	if !ok {
		_ = l.Close()
		return nil, fmt.Errorf("intercept: listen %s %s: unexpected listener type %T", network, addr, l)
	}
	return tl, nil
}

// sockopt is one integer socket option, named for error messages.
type sockopt struct {
	name  string
	level int
	opt   int
	value int
}

// setSockopts applies opts to the raw socket c in order, stopping at the first failure.
func setSockopts(c syscall.RawConn, opts []sockopt) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range opts {
			if e := unix.SetsockoptInt(int(fd), o.level, o.opt, o.value); e != nil {
				serr = fmt.Errorf("intercept: setsockopt %s: %w", o.name, e)
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("intercept: raw control: %w", err)
	}
	return serr
}
