package ftp

import (
	"bufio"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
)

// TestServerLimits: over the per-client or the total limit a new control connection gets
// 421 and is closed; a session that ends frees its place.
func TestServerLimits(t *testing.T) {
	srv := ftptest.NewServer(t, func(c *ftptest.Conn, line string) { c.Reply("200 ok") })
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dialer := &mapDialer{}
	// On loopback the original destination is the listener itself: send it to the server.
	dialer.redirect(ln.Addr().(*net.TCPAddr).AddrPort(), srv.Addr)
	logs := &syncBuffer{}
	gw := &Server{Dialer: dialer, Data: nopData{}, Limits: Limits{MaxSessions: 3, MaxPerClient: 2}, Config: Config{Spoof: true}}
	gw.Log = slog.New(slog.NewJSONHandler(logs, nil))
	go gw.Serve(t.Context(), ln)

	connect := func(from string) (net.Conn, string) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return c, strings.TrimSpace(line)
	}
	c1, g1 := connect("127.0.0.1")
	_, g2 := connect("127.0.0.1")
	if !strings.HasPrefix(g1, "220 ") || !strings.HasPrefix(g2, "220 ") {
		t.Fatalf("greetings %q %q, want 220", g1, g2)
	}
	if _, g := connect("127.0.0.1"); g != "421 Too many sessions from your address, try again later." {
		t.Errorf("third session of one client: %q", g)
	}
	if _, g := connect("127.0.0.2"); !strings.HasPrefix(g, "220 ") {
		t.Errorf("another client's first session: %q, want 220", g)
	}
	if _, g := connect("127.0.0.2"); g != "421 Too many sessions, try again later." {
		t.Errorf("session over the total: %q", g)
	}
	c1.Close()
	var g string
	for i := 0; i < 100; i++ { // the first session ends and frees its place
		if _, g = connect("127.0.0.2"); strings.HasPrefix(g, "220 ") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(g, "220 ") {
		t.Errorf("after a session ended: %q, want 220", g)
	}
	if len(logs.records("session limit reached; connection refused")) == 0 ||
		len(logs.records("session limit of the client address reached; connection refused")) == 0 {
		t.Errorf("refusals not logged:\n%s", logs.b.String())
	}
}
