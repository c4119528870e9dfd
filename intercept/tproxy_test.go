package intercept

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// gwRuleset is the TPROXY ruleset the gateway namespace gets: the fwmark for packets of
// transparent sockets (the return path of spoofed connections) and the interception of
// port 21.
const gwRuleset = `table inet t {
	chain p {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set 0x1 accept
		tcp dport 21 tproxy to :2121 meta mark set 0x1 accept
	}
}
`

// topology is three namespaces: client — gw — server.
type topology struct {
	client, gw, server string
}

// newTopology builds client (198.51.100.2, 2001:db8:1::2), gw (198.51.100.1, 203.0.113.1,
// 2001:db8:1::1, 2001:db8:2::1, forwarding) and server (203.0.113.2, 2001:db8:2::2), with
// default routes via gw, the TPROXY ruleset and Routing in gw.
func newTopology(t *testing.T) topology {
	t.Helper()
	if _, err := tryCmd("nft", "--version"); err != nil {
		t.Skip("skipping: needs the nft CLI")
	}
	tp := topology{client: newNS(t, "cl"), gw: newNS(t, "gw"), server: newNS(t, "sv")}
	nsSysctl(t, tp.gw, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")

	ip := func(ns string, args ...string) { runCmd(t, "ip", append([]string{"-n", ns}, args...)...) }
	ip(tp.gw, "link", "add", "g0", "type", "veth", "peer", "name", "c0", "netns", tp.client)
	ip(tp.gw, "link", "add", "g1", "type", "veth", "peer", "name", "s0", "netns", tp.server)
	for _, a := range []struct{ ns, dev, v4, v6 string }{
		{tp.client, "c0", "198.51.100.2/24", "2001:db8:1::2/64"},
		{tp.gw, "g0", "198.51.100.1/24", "2001:db8:1::1/64"},
		{tp.gw, "g1", "203.0.113.1/24", "2001:db8:2::1/64"},
		{tp.server, "s0", "203.0.113.2/24", "2001:db8:2::2/64"},
	} {
		ip(a.ns, "addr", "add", a.v4, "dev", a.dev)
		ip(a.ns, "addr", "add", a.v6, "dev", a.dev, "nodad")
		ip(a.ns, "link", "set", a.dev, "up")
	}
	for _, l := range []struct{ ns, dev string }{
		{tp.client, "c0"}, {tp.gw, "g0"}, {tp.gw, "g1"}, {tp.server, "s0"},
	} {
		waitOperUp(t, l.ns, l.dev)
	}
	ip(tp.client, "route", "add", "default", "via", "198.51.100.1")
	ip(tp.client, "-6", "route", "add", "default", "via", "2001:db8:1::1")
	ip(tp.server, "route", "add", "default", "via", "203.0.113.1")
	ip(tp.server, "-6", "route", "add", "default", "via", "2001:db8:2::1")

	cmd := fmt.Sprintf("nft -f - <<'EOF'\n%sEOF\n", gwRuleset)
	runCmd(t, "ip", "netns", "exec", tp.gw, "sh", "-c", cmd)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := &Routing{Mark: 1, Table: 100, Handle: nsHandle(t, tp.gw)}
	if err := r.Setup(ctx); err != nil {
		t.Fatalf("Routing.Setup in gw: %v", err)
	}
	return tp
}

// waitOperUp waits up to five seconds for dev in ns to become operationally up. The kernel
// activates a veth's transmit queue from the link-watch work, up to a second after
// `ip link set up`; until then packets are dropped and the first SYN waits for a
// retransmission.
func waitOperUp(t *testing.T, ns, dev string) {
	t.Helper()
	h := nsHandle(t, ns)
	for range 250 {
		link, err := h.LinkByName(dev)
		if err != nil {
			t.Fatalf("link %s in %s: %v", dev, ns, err)
		}
		if link.Attrs().OperState == netlink.OperUp {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("link %s in %s is not up after 5s", dev, ns)
}

// acceptOne accepts one connection on l within a few seconds.
func acceptOne(t *testing.T, l *net.TCPListener) *net.TCPConn {
	t.Helper()
	if err := l.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	c, err := l.AcceptTCP()
	if err != nil {
		t.Fatalf("accept on %s: %v", l.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

// exchange writes msg on from and reads exactly len(msg) bytes on to.
func exchange(t *testing.T, from, to net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(from, msg); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(to, buf); err != nil {
		t.Fatalf("read %q: %v", msg, err)
	}
	if string(buf) != msg {
		t.Fatalf("read %q, want %q", buf, msg)
	}
}

// TestTProxyEndToEnd intercepts a client's connection to the server's port 21 in gw,
// checks OriginalDst and Peer, dials the server from the client's own address and checks
// that the server sees the client and that bytes pass both ways on both legs.
func TestTProxyEndToEnd(t *testing.T) {
	requireRoot(t)
	tp := newTopology(t)

	for _, tc := range []struct {
		network, listen, client, server string
	}{
		{"tcp4", "0.0.0.0:2121", "198.51.100.2", "203.0.113.2"},
		{"tcp6", "[::]:2121", "2001:db8:1::2", "2001:db8:2::2"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			clientAddr := netip.MustParseAddr(tc.client)
			serverAP := netip.AddrPortFrom(netip.MustParseAddr(tc.server), 21)

			var gwL, srvL *net.TCPListener
			inNS(t, tp.gw, func() (err error) {
				gwL, err = Listen(ctx, tc.network, tc.listen)
				return err
			})
			defer gwL.Close()
			inNS(t, tp.server, func() error {
				l, err := net.Listen(tc.network, serverAP.String())
				if err != nil {
					return err
				}
				srvL = l.(*net.TCPListener)
				return nil
			})
			defer srvL.Close()

			// The client connects to the server; gw intercepts.
			var cli net.Conn
			inNS(t, tp.client, func() (err error) {
				d := net.Dialer{Timeout: 5 * time.Second}
				cli, err = d.DialContext(ctx, tc.network, serverAP.String())
				return err
			})
			defer cli.Close()
			_ = cli.SetDeadline(time.Now().Add(10 * time.Second))

			down := acceptOne(t, gwL)
			dst, err := OriginalDst(down)
			if err != nil {
				t.Fatalf("OriginalDst: %v", err)
			}
			if dst != serverAP {
				t.Errorf("OriginalDst = %v, want %v", dst, serverAP)
			}
			peer, err := Peer(down)
			if err != nil {
				t.Fatalf("Peer: %v", err)
			}
			if want := cli.LocalAddr().(*net.TCPAddr).AddrPort(); peer != want || peer.Addr() != clientAddr {
				t.Errorf("Peer = %v, want %v (address %v)", peer, want, clientAddr)
			}

			// gw dials the server from the client's own address.
			var up *net.TCPConn
			inNS(t, tp.gw, func() (err error) {
				d := &Dialer{Timeout: 5 * time.Second}
				up, err = d.Dial(ctx, peer.Addr(), dst)
				return err
			})
			defer up.Close()
			_ = up.SetDeadline(time.Now().Add(10 * time.Second))
			if got := up.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != clientAddr {
				t.Errorf("upstream local address = %v, want %v", got, clientAddr)
			}

			srv := acceptOne(t, srvL)
			seen, err := Peer(srv)
			if err != nil {
				t.Fatalf("server Peer: %v", err)
			}
			if seen.Addr() != clientAddr {
				t.Errorf("server sees peer %v, want the client's address %v (spoofing failed)", seen, clientAddr)
			}
			if want := up.LocalAddr().(*net.TCPAddr).AddrPort(); seen != want {
				t.Errorf("server sees peer %v, want the dialer's local address %v", seen, want)
			}

			// gw would relay; here the test plays gw and checks each leg both ways.
			exchange(t, srv, up, "220 server ready\r\n")
			exchange(t, down, cli, "220 server ready\r\n")
			exchange(t, cli, down, "USER anonymous\r\n")
			exchange(t, up, srv, "USER anonymous\r\n")

			// Half-close from the client reaches gw as EOF.
			if err := cli.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatalf("client CloseWrite: %v", err)
			}
			if n, err := down.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("gw read after client half-close = %d, %v; want EOF", n, err)
			}
		})
	}
}

// TestTProxyDialOwnAddress dials from gw without a source address: the server sees gw's
// own address on the server side.
func TestTProxyDialOwnAddress(t *testing.T) {
	requireRoot(t)
	tp := newTopology(t)
	for _, tc := range []struct{ network, server, gwAddr string }{
		{"tcp4", "203.0.113.2", "203.0.113.1"},
		{"tcp6", "2001:db8:2::2", "2001:db8:2::1"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			serverAP := netip.AddrPortFrom(netip.MustParseAddr(tc.server), 21)
			var srvL *net.TCPListener
			inNS(t, tp.server, func() error {
				l, err := net.Listen(tc.network, serverAP.String())
				if err != nil {
					return err
				}
				srvL = l.(*net.TCPListener)
				return nil
			})
			defer srvL.Close()
			var up *net.TCPConn
			inNS(t, tp.gw, func() (err error) {
				d := &Dialer{Timeout: 5 * time.Second, Mark: 0x7}
				up, err = d.Dial(ctx, netip.Addr{}, serverAP)
				return err
			})
			defer up.Close()
			_ = up.SetDeadline(time.Now().Add(10 * time.Second))
			srv := acceptOne(t, srvL)
			seen, err := Peer(srv)
			if err != nil {
				t.Fatalf("server Peer: %v", err)
			}
			if seen.Addr().String() != tc.gwAddr {
				t.Errorf("server sees %v, want gw's own %s", seen, tc.gwAddr)
			}
			exchange(t, srv, up, "220 hi\r\n")
			exchange(t, up, srv, "QUIT\r\n")
			if strings.Contains(seen.String(), "198.51.100.") {
				t.Errorf("server sees a client address %v without spoofing", seen)
			}
		})
	}
}
