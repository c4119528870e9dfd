package intercept

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// loopbackPair returns both ends of a TCP connection over loopback on network ("tcp4" or
// "tcp6") and host; it skips if the address is unavailable.
func loopbackPair(t *testing.T, network, host string) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen(network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("skipping: no %s loopback: %v", network, err)
	}
	defer l.Close()
	d := net.Dialer{Timeout: 5 * time.Second}
	client, err = d.Dial(network, l.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", l.Addr(), err)
	}
	t.Cleanup(func() { client.Close() })
	if err := l.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

func TestOriginalDstAndPeerLoopback(t *testing.T) {
	for _, tc := range []struct{ network, host string }{
		{"tcp4", "127.0.0.1"},
		{"tcp6", "::1"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			client, server := loopbackPair(t, tc.network, tc.host)
			wantDst := client.RemoteAddr().(*net.TCPAddr).AddrPort()
			wantPeer := client.LocalAddr().(*net.TCPAddr).AddrPort()

			dst, err := OriginalDst(server)
			if err != nil {
				t.Fatalf("OriginalDst: %v", err)
			}
			if dst != wantDst {
				t.Errorf("OriginalDst = %v, want %v", dst, wantDst)
			}
			peer, err := Peer(server)
			if err != nil {
				t.Fatalf("Peer: %v", err)
			}
			if peer != wantPeer {
				t.Errorf("Peer = %v, want %v", peer, wantPeer)
			}
			if dst.Addr().String() != tc.host || peer.Addr().String() != tc.host {
				t.Errorf("addresses %v, %v: want host %s", dst, peer, tc.host)
			}
		})
	}
}

func TestTCPAddrPort(t *testing.T) {
	for _, tc := range []struct {
		name    string
		addr    net.Addr
		want    netip.AddrPort
		wantErr bool
	}{
		{"ipv4", &net.TCPAddr{IP: net.IPv4(198, 51, 100, 2).To4(), Port: 21}, netip.MustParseAddrPort("198.51.100.2:21"), false},
		{"ipv4 in 16 bytes", &net.TCPAddr{IP: net.IPv4(198, 51, 100, 2), Port: 21}, netip.MustParseAddrPort("198.51.100.2:21"), false},
		{"mapped", &net.TCPAddr{IP: net.ParseIP("::ffff:203.0.113.2"), Port: 2121}, netip.MustParseAddrPort("203.0.113.2:2121"), false},
		{"ipv6", &net.TCPAddr{IP: net.ParseIP("2001:db8:2::2"), Port: 21}, netip.MustParseAddrPort("[2001:db8:2::2]:21"), false},
		{"zone", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 21, Zone: "eth0"}, netip.MustParseAddrPort("[fe80::1%eth0]:21"), false},
		{"udp", &net.UDPAddr{IP: net.IPv4(198, 51, 100, 2), Port: 21}, netip.AddrPort{}, true},
		{"nil tcp", (*net.TCPAddr)(nil), netip.AddrPort{}, true},
		{"no ip", &net.TCPAddr{Port: 21}, netip.AddrPort{}, true},
		{"bad port", &net.TCPAddr{IP: net.IPv4(198, 51, 100, 2), Port: 70000}, netip.AddrPort{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tcpAddrPort(tc.addr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("tcpAddrPort(%v) error = %v, wantErr %v", tc.addr, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("tcpAddrPort(%v) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

func TestOriginalDstAndPeerNotTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := OriginalDst(a); err == nil {
		t.Error("OriginalDst(pipe): want error")
	}
	if _, err := Peer(a); err == nil {
		t.Error("Peer(pipe): want error")
	}
	if _, err := OriginalDst(nil); err == nil {
		t.Error("OriginalDst(nil): want error")
	}
	if _, err := Peer(nil); err == nil {
		t.Error("Peer(nil): want error")
	}
}

func TestAddrPort(t *testing.T) {
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:198.51.100.2"), Port: 2121}
	if got := AddrPort(mapped); got != netip.MustParseAddrPort("198.51.100.2:2121") {
		t.Errorf("AddrPort(%v) = %v, want the unmapped address", mapped, got)
	}
	if got := AddrPort(&net.UDPAddr{IP: net.ParseIP("198.51.100.2"), Port: 53}); got.IsValid() {
		t.Errorf("AddrPort(UDP) = %v, want the zero AddrPort", got)
	}
}
