package intercept

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestListenBadNetwork(t *testing.T) {
	for _, network := range []string{"tcp", "udp4", "unix", ""} {
		if l, err := Listen(context.Background(), network, "127.0.0.1:0"); err == nil {
			l.Close()
			t.Errorf("Listen(%q): want error", network)
		}
	}
}

// TestListenSockopts checks the options a transparent listener carries, in a fresh
// namespace.
func TestListenSockopts(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "listen")
	type opt struct {
		name       string
		level, opt int
	}
	common := []opt{{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR}}
	for _, tc := range []struct {
		network, addr string
		opts          []opt
	}{
		{"tcp4", "0.0.0.0:2121", append(common, opt{"IP_TRANSPARENT", unix.SOL_IP, unix.IP_TRANSPARENT})},
		{"tcp6", "[::]:2121", append(common,
			opt{"IPV6_TRANSPARENT", unix.SOL_IPV6, unix.IPV6_TRANSPARENT},
			opt{"IPV6_V6ONLY", unix.SOL_IPV6, unix.IPV6_V6ONLY})},
	} {
		t.Run(tc.network, func(t *testing.T) {
			var l *net.TCPListener
			inNS(t, ns, func() (err error) {
				l, err = Listen(context.Background(), tc.network, tc.addr)
				return err
			})
			defer l.Close()
			for _, o := range tc.opts {
				if got := getsockoptInt(t, l, o.level, o.opt); got != 1 {
					t.Errorf("%s = %d, want 1", o.name, got)
				}
			}
			if got := l.Addr().String(); got != tc.addr {
				t.Errorf("Addr = %s, want %s", got, tc.addr)
			}
		})
	}
}
