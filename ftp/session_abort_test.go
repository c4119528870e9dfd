package ftp

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/wire"
)

// TestAbortWhileFinalReplyHeld: the server sends its 226 while the transfer's data is still
// flowing, so the gateway holds the 226 back (up to the linger time, 30 s here) until the
// data has passed. Meanwhile the client's ABOR must reach the server at once: no lock of the
// reply side may stand between the client's commands and the server. The ABOR then closes the
// data channel, so the held 226 and the ABOR's 225 reach the client, in that order.
func TestAbortWhileFinalReplyHeld(t *testing.T) {
	cdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cdl.Close()
	var (
		mu   sync.Mutex
		open []net.Conn // the server's data connections, left open on purpose
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	}()
	var hs *harness
	cfg := Config{Spoof: true, Linger: 30 * time.Second}
	hs = newHarnessWith(t, 30*time.Second, cfg, func(c *ftptest.Conn, line string) {
		switch {
		case strings.HasPrefix(line, "PORT "):
			c.Reply("200 PORT ok.")
		case line == "RETR endless.bin":
			c.Reply("150 Opening data connection.")
			dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			mu.Lock()
			open = append(open, dc)
			mu.Unlock()
			dc.Write([]byte("the first bytes of a long file"))
			c.Reply("226 Transfer complete.") // early: the data connection stays open
		case strings.HasSuffix(line, "ABOR"):
			c.Reply("225 ABOR command successful.")
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), cdl.Addr().(*net.TCPAddr).AddrPort())
	if got := hs.cmd("PORT " + wire.FormatPORT(netip.AddrPortFrom(loop, hs.dataPort()))); got != "200 PORT ok." {
		t.Fatalf("PORT: %q", got)
	}
	if got := hs.cmd("RETR endless.bin"); got != "150 Opening data connection." {
		t.Fatalf("RETR: %q", got)
	}
	cdl.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	dc, err := cdl.Accept()
	if err != nil {
		t.Fatalf("data connection: %v", err)
	}
	defer dc.Close()
	buf := make([]byte, 64)
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := dc.Read(buf); err != nil || n == 0 {
		t.Fatalf("first data: %d bytes, %v", n, err)
	}
	// The 226 arrived at the gateway and waits there for the data; now the client aborts.
	waitFor(t, "the gateway to hold the server's 226", func() bool {
		return len(hs.logs.records("final reply held until the transfer's data has passed")) > 0
	})
	hs.send("ABOR")
	waitFor(t, "ABOR to reach the server while the 226 is held", func() bool {
		got := hs.srv.Received()
		return len(got) > 0 && strings.HasSuffix(got[len(got)-1], "ABOR")
	})
	if got := hs.readReply(); got != "226 Transfer complete." {
		t.Fatalf("first reply after ABOR %q, want the held 226", got)
	}
	if got := hs.readReply(); got != "225 ABOR command successful." {
		t.Fatalf("second reply after ABOR %q, want the ABOR's 225", got)
	}
	rec := hs.waitRecord("transfer")
	if rec["complete"] != false || !strings.Contains(rec["data_error"].(string), "aborted") {
		t.Errorf("record of the aborted transfer: complete %v, data_error %v", rec["complete"], rec["data_error"])
	}
}

// waitFor polls cond every 20 ms for at most 10 s (a bound against a hang, not a speed
// target) and fails the test naming what it waited for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
