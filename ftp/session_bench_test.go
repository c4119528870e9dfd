package ftp

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/park"
	"github.com/ftpgate/ftpgate/policy"
)

// benchSession starts a session with the readwrite preset between a loopback client and a
// scripted server that answers every command 200, and returns the client's connection and
// reader after the greeting.
func benchSession(b *testing.B, ctx context.Context, cfg Config) (net.Conn, *bufio.Reader) {
	b.Helper()
	srv := ftptest.NewServer(b, func(c *ftptest.Conn, line string) { c.Reply("200 ok") })
	p, err := policy.Preset("readwrite")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	accepted, err := ln.AcceptTCP()
	if err != nil {
		b.Fatal(err)
	}
	ca := netip.MustParseAddrPort(client.LocalAddr().String())
	sess := NewSession(1, accepted, srv.Addr, cfg, &mapDialer{}, nopData{},
		p.NewSession(policy.Info{ID: 1, Client: ca, Server: srv.Addr}), slog.New(slog.DiscardHandler))
	go sess.Serve(ctx)
	r := greeted(b, client)
	return client, r
}

// BenchmarkSessionNOOP measures one command's round trip through a session on loopback
// (client, session and scripted server in this process): the control path's own cost.
func BenchmarkSessionNOOP(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, r := benchSession(b, ctx, Config{})
	b.ReportAllocs()
	noops(b, client, r)
}

// BenchmarkSessionNOOPParkable is BenchmarkSessionNOOP as the daemon runs it (-park-after
// 1s): each wait of a loop is bounded by the quiet period (a read deadline set and
// cleared), though a busy session never parks.
func BenchmarkSessionNOOPParkable(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := park.New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	client, r := benchSession(b, ctx, Config{Park: p, ParkAfter: time.Second})
	b.ReportAllocs()
	noops(b, client, r)
}

// BenchmarkIdleSession reports the heap and goroutine stacks that one idle, logged-in
// session holds (bytes/session), with 2,000 sessions open at once. The clients and the
// scripted server live in this process too: the same number of direct client-to-server
// connections is measured first and subtracted, so what remains is the session, its two
// sockets' Go objects and its goroutines. "parked" is how the daemon runs (-park-after):
// the loops of an idle session wait in one shared epoll; "goroutines" keeps them on their
// goroutines.
func BenchmarkIdleSession(b *testing.B) {
	const n = 2000
	for _, parked := range []bool{true, false} {
		name := map[bool]string{true: "parked", false: "goroutines"}[parked]
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				direct := idleFootprint(b, n, false, false)
				through := idleFootprint(b, n, true, parked)
				b.ReportMetric(float64(through-direct)/n, "bytes/session")
			}
		})
	}
}

// idleFootprint opens n logged-in connections to a scripted server, through sessions
// (their loops parked in a poller, or not) or directly, and returns the growth of heap in
// use plus stacks in use once they are idle.
func idleFootprint(b *testing.B, n int, sessions, parked bool) int64 {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cfg Config
	if parked {
		p, err := park.New()
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		cfg.Park, cfg.ParkAfter = p, 50*time.Millisecond
	}
	srv := ftptest.NewServer(b, func(c *ftptest.Conn, line string) {
		switch {
		case strings.HasPrefix(line, "USER"):
			c.Reply("331 password")
		case strings.HasPrefix(line, "PASS"):
			c.Reply("230 logged in")
		default:
			c.Reply("200 ok")
		}
	})
	p, err := policy.Preset("readwrite")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	before := inUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		to := srv.Addr.String()
		if sessions {
			to = ln.Addr().String()
		}
		c, err := net.Dial("tcp4", to)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		if sessions {
			a, err := ln.AcceptTCP()
			if err != nil {
				b.Fatal(err)
			}
			ca := netip.MustParseAddrPort(c.LocalAddr().String())
			sess := NewSession(uint64(i+1), a, srv.Addr, cfg, &mapDialer{}, nopData{},
				p.NewSession(policy.Info{ID: uint64(i + 1), Client: ca, Server: srv.Addr}), slog.New(slog.DiscardHandler))
			sess.Start(ctx, func(error) {})
		}
		login(b, c)
	}
	time.Sleep(300 * time.Millisecond)
	for i := 0; parked && cfg.Park.Parked() != 2*n; i++ {
		if i == 100 {
			b.Fatalf("%d loops parked, want %d", cfg.Park.Parked(), 2*n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return inUse() - before
}

// login reads the greeting and logs in on c.
func login(b *testing.B, c net.Conn) {
	b.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var buf [256]byte
	for _, cmd := range []string{"", "USER u\r\n", "PASS p\r\n"} {
		if cmd != "" {
			if _, err := c.Write([]byte(cmd)); err != nil {
				b.Fatal(err)
			}
		}
		if n, err := c.Read(buf[:]); err != nil || n < 4 {
			b.Fatalf("after %q: %q %v", cmd, buf[:n], err)
		}
	}
	c.SetDeadline(time.Time{})
}

// inUse is the heap in use plus the goroutine stacks in use, after a collection.
func inUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// BenchmarkDirectNOOP is BenchmarkSessionNOOP without the session: the client talks to the
// scripted server directly, the floor the session's figure is read against.
func BenchmarkDirectNOOP(b *testing.B) {
	srv := ftptest.NewServer(b, func(c *ftptest.Conn, line string) { c.Reply("200 ok") })
	client, err := net.Dial("tcp4", srv.Addr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	r := greeted(b, client)
	noops(b, client, r)
}

// BenchmarkCopyProxyNOOP is BenchmarkSessionNOOP through the least a user-space relay can
// do (two io.Copy goroutines, no parsing): the floor of any proxy's added round trip.
func BenchmarkCopyProxyNOOP(b *testing.B) {
	srv := ftptest.NewServer(b, func(c *ftptest.Conn, line string) { c.Reply("200 ok") })
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp4", srv.Addr.String())
		if err != nil {
			c.Close()
			return
		}
		go io.Copy(s, c)
		io.Copy(c, s)
	}()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	r := greeted(b, client)
	noops(b, client, r)
}

// greeted reads the 220 greeting on client and returns its reader.
func greeted(b *testing.B, client net.Conn) *bufio.Reader {
	b.Helper()
	r := bufio.NewReader(client)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "220") {
		b.Fatalf("greeting %q: %v", l, err)
	}
	return r
}

// noops sends b.N NOOPs on client, one at a time, each answered 200 (read from r).
func noops(b *testing.B, client net.Conn, r *bufio.Reader) {
	b.Helper()
	line := []byte("NOOP\r\n")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := client.Write(line); err != nil {
			b.Fatal(err)
		}
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "200") {
			b.Fatalf("reply %q: %v", l, err)
		}
	}
}
