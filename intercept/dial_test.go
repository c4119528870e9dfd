package intercept

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// getsockoptInt reads an integer socket option from a connection or listener.
func getsockoptInt(t *testing.T, sc syscall.Conn, level, opt int) int {
	t.Helper()
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatalf("Control: %v", err)
	}
	if gerr != nil {
		t.Fatalf("getsockopt(%d, %d): %v", level, opt, gerr)
	}
	return v
}

// echoOnce accepts one connection on l, writes its remote address and a newline, then
// copies one read back; errors go to errc.
func echoOnce(l net.Listener, errc chan<- error) {
	c, err := l.Accept()
	if err != nil {
		errc <- err
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", c.RemoteAddr()); err != nil {
		errc <- err
		return
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		errc <- err
		return
	}
	_, err = c.Write(buf[:n])
	errc <- err
}

func TestDialerNoSourceLoopback(t *testing.T) {
	for _, tc := range []struct{ network, host string }{
		{"tcp4", "127.0.0.1"},
		{"tcp6", "::1"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			l, err := net.Listen(tc.network, net.JoinHostPort(tc.host, "0"))
			if err != nil {
				t.Skipf("skipping: no %s loopback: %v", tc.network, err)
			}
			defer l.Close()
			errc := make(chan error, 1)
			go echoOnce(l, errc)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d := &Dialer{Timeout: 5 * time.Second}
			c, err := d.Dial(ctx, netip.Addr{}, l.Addr().(*net.TCPAddr).AddrPort())
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if got := getsockoptInt(t, c, unix.SOL_SOCKET, unix.SO_KEEPALIVE); got != 1 {
				t.Errorf("SO_KEEPALIVE = %d, want 1", got)
			}
			checkEcho(t, c, c.LocalAddr().String())
			if err := <-errc; err != nil {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

// checkEcho reads the peer line the server sends, compares it with wantPeer, then sends a
// message and expects it back.
func checkEcho(t *testing.T, c net.Conn, wantPeer string) {
	t.Helper()
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read peer line: %v", err)
	}
	if got := string(buf[:n]); got != wantPeer+"\n" {
		t.Errorf("server saw peer %q, want %q", got, wantPeer)
	}
	msg := "ping through intercept"
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if got := string(buf[:len(msg)]); got != msg {
		t.Errorf("echo = %q, want %q", got, msg)
	}
}

func TestDialerErrors(t *testing.T) {
	ctx := context.Background()
	d := &Dialer{Timeout: time.Second}
	if _, err := d.Dial(ctx, netip.Addr{}, netip.AddrPort{}); err == nil {
		t.Error("Dial(invalid dst): want error")
	}
	if _, err := d.Dial(ctx, netip.MustParseAddr("2001:db8:1::2"), netip.MustParseAddrPort("127.0.0.1:9")); err == nil {
		t.Error("Dial(ipv6 src, ipv4 dst): want error")
	}

	// A port nobody listens on: find one by closing a listener.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dst := l.Addr().(*net.TCPAddr).AddrPort()
	l.Close()
	if _, err := d.Dial(ctx, netip.Addr{}, dst); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial(closed port) = %v, want ECONNREFUSED", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Dial(cctx, netip.Addr{}, dst); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial(canceled ctx) = %v, want context.Canceled", err)
	}
}

// TestDialerTransparentAndMark checks, in a fresh namespace, that a source address turns on
// IP_TRANSPARENT / IPV6_TRANSPARENT and binds it, and that Mark sets SO_MARK.
func TestDialerTransparentAndMark(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "dial")
	for _, tc := range []struct {
		network, host string
		level, opt    int
	}{
		{"tcp4", "127.0.0.1", unix.SOL_IP, unix.IP_TRANSPARENT},
		{"tcp6", "::1", unix.SOL_IPV6, unix.IPV6_TRANSPARENT},
	} {
		t.Run(tc.network, func(t *testing.T) {
			var l net.Listener
			inNS(t, ns, func() (err error) {
				l, err = net.Listen(tc.network, net.JoinHostPort(tc.host, "0"))
				return err
			})
			defer l.Close()
			errc := make(chan error, 1)
			go echoOnce(l, errc)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d := &Dialer{Timeout: 5 * time.Second, Mark: 0x42}
			var c *net.TCPConn
			inNS(t, ns, func() (err error) {
				c, err = d.Dial(ctx, netip.MustParseAddr(tc.host), l.Addr().(*net.TCPAddr).AddrPort())
				return err
			})
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if got := getsockoptInt(t, c, tc.level, tc.opt); got != 1 {
				t.Errorf("transparent option = %d, want 1", got)
			}
			if got := getsockoptInt(t, c, unix.SOL_SOCKET, unix.SO_MARK); got != 0x42 {
				t.Errorf("SO_MARK = %#x, want 0x42", got)
			}
			checkEcho(t, c, c.LocalAddr().String())
			if err := <-errc; err != nil {
				t.Fatalf("server: %v", err)
			}
		})
	}
}
