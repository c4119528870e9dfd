package ftp

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/internal/ftptest"
)

// TestDataModePassive: the client sends PORT, the server gets PASV (data_mode passive);
// ftpgate answers the PORT itself and connects to both sides when RETR passes.
func TestDataModePassive(t *testing.T) {
	payload := bytes.Repeat([]byte("passive-"), 50000)
	sdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sdl.Close()
	cdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cdl.Close()
	hs := newHarnessWith(t, 30*time.Second, Config{Spoof: true, DataMode: policy.DataPassive, Linger: 2 * time.Second}, func(c *ftptest.Conn, line string) {
		switch line {
		case "PASV":
			c.Reply(pasvText(loop, uint16(sdl.Addr().(*net.TCPAddr).Port)))
		case "RETR f":
			c.Reply("150 Here it comes.")
			dc, err := sdl.Accept()
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			dc.Write(payload)
			dc.Close()
			c.Reply("226 Done.")
		}
	})
	port := cdl.Addr().(*net.TCPAddr).AddrPort()
	if got := hs.cmd("PORT " + wire.FormatPORT(port)); got != "200 PORT command successful." {
		t.Fatalf("PORT: %q", got)
	}
	if got := hs.cmd("RETR f"); got != "150 Here it comes." {
		t.Fatalf("RETR: %q", got)
	}
	cdl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	dc, err := cdl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dc)
	dc.Close()
	if !bytes.Equal(got, payload) {
		t.Fatalf("client got %d bytes, want %d", len(got), len(payload))
	}
	if r := hs.readReply(); r != "226 Done." {
		t.Fatalf("final %q", r)
	}
	if rec := hs.srv.Received(); strings.Join(rec, "|") != "PASV|RETR f" {
		t.Fatalf("server received %q, want PASV then RETR", rec)
	}
}

// TestDataModeActive: the client sends PASV, the server gets PORT (data_mode active); both
// legs listen, on ports from the allocator, and are joined when both connections came.
func TestDataModeActive(t *testing.T) {
	payload := bytes.Repeat([]byte("active--"), 50000)
	ports := &fixedPorts{}
	var hs *harness
	hs = newHarnessWith(t, 30*time.Second, Config{Spoof: true, DataMode: policy.DataActive, Ports: ports, Linger: 2 * time.Second}, func(c *ftptest.Conn, line string) {
		switch {
		case strings.HasPrefix(line, "PORT "):
			c.Reply("200 PORT command successful.")
		case line == "STOR up":
			c.Reply("150 Send it.")
			// The server connects to the PORT it was given: the second stand-in port.
			ap, err := wire.ParsePORT(strings.TrimPrefix(hs.srv.Received()[0], "PORT "))
			if err != nil {
				c.Reply("501 Bad PORT.")
				return
			}
			dc, err := net.Dial("tcp4", ap.String())
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			b, _ := io.ReadAll(dc)
			dc.Close()
			c.Reply(fmt.Sprintf("226 Got %d bytes.", len(b)))
		}
	})
	ports.next = []uint16{hs.dataPort(), uint16(hs.data2.Addr().(*net.TCPAddr).Port)}
	got := hs.cmd("PASV")
	ap, err := wire.ParsePASVReply(strings.TrimPrefix(got, "227 "))
	if err != nil || ap != netip.AddrPortFrom(loop, hs.dataPort()) {
		t.Fatalf("PASV: %q, want 227 announcing the server's address and the first port", got)
	}
	if rec := hs.srv.Received(); len(rec) != 1 || rec[0] != "PORT "+wire.FormatPORT(netip.AddrPortFrom(loop, uint16(hs.data2.Addr().(*net.TCPAddr).Port))) {
		t.Fatalf("server received %q, want a PORT naming the client's address and the second port", rec)
	}
	dc, err := net.Dial("tcp4", ap.String())
	if err != nil {
		t.Fatal(err)
	}
	if r := hs.cmd("STOR up"); r != "150 Send it." {
		t.Fatalf("STOR: %q", r)
	}
	dc.Write(payload)
	dc.Close()
	if r := hs.readReply(); r != fmt.Sprintf("226 Got %d bytes.", len(payload)) {
		t.Fatalf("final %q", r)
	}
	rec := hs.waitRecord("transfer")
	if rec["bytes_to_server"] != float64(len(payload)) {
		t.Errorf("record %v", rec)
	}
	// The record is final when the bytes are; the channel releases its ports as it closes,
	// right after.
	released := func() []uint16 {
		ports.mu.Lock()
		defer ports.mu.Unlock()
		return slices.Clone(ports.released)
	}
	for i := 0; i < 100 && len(released()) < 2; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if got := released(); len(got) != 2 {
		t.Errorf("released ports %v, want both", got)
	}
}

// TestEPSVFallback: a server that refuses EPSV is asked again with PASV; the client that
// insisted on EPSV gets a 229.
func TestEPSVFallback(t *testing.T) {
	var hs *harness
	hs = newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch line {
		case "EPSV":
			c.Reply("502 EPSV not implemented.")
		case "PASV":
			c.Reply(pasvText(loop, hs.dataPort()))
		case "NOOP":
			c.Reply("200 NOOP ok.")
		}
	})
	want := fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", hs.dataPort())
	if got := hs.cmd("EPSV"); got != want {
		t.Fatalf("EPSV: %q, want %q", got, want)
	}
	if els := hs.elements(); !strings.Contains(els, fmt.Sprintf(". %d", hs.dataPort())) {
		t.Fatalf("no expectation after the fallback: %q", els)
	}
	if got := hs.cmd("NOOP"); got != "200 NOOP ok." {
		t.Fatalf("after the fallback: NOOP %q", got)
	}
}

// TestPasvRewrite: a 227 naming a foreign (NAT) address is refused by default and rewritten
// to the server's own address under pasv_address rewrite.
func TestPasvRewrite(t *testing.T) {
	nat := netip.MustParseAddr("10.1.2.3") // only text inside a reply; nothing is sent there
	handler := func(hs **harness) ftptest.Handler {
		return func(c *ftptest.Conn, line string) {
			if line == "PASV" {
				c.Reply(pasvText(nat, (*hs).dataPort()))
			}
		}
	}
	var strict, lax *harness
	strict = newHarness(t, 30*time.Second, handler(&strict))
	if got := strict.cmd("PASV"); !strings.HasPrefix(got, "425 ") {
		t.Fatalf("enforce: %q, want 425", got)
	}
	lax = newHarnessWith(t, 30*time.Second, Config{Spoof: true, PasvRewrite: true, Linger: 2 * time.Second}, handler(&lax))
	want := "227 " + wire.FormatPASVReply(netip.AddrPortFrom(loop, lax.dataPort()))
	if got := lax.cmd("PASV"); got != want {
		t.Fatalf("rewrite: %q, want %q", got, want)
	}
}

// TestReplyTimeout: a server that closes the data connection and never sends the final
// reply does not leave the client hanging: after ReplyTimeout the session ends with 421.
func TestReplyTimeout(t *testing.T) {
	sdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sdl.Close()
	var hs *harness
	hs = newHarnessWith(t, 30*time.Second, Config{Spoof: true, Linger: time.Second, ReplyTimeout: 300 * time.Millisecond}, func(c *ftptest.Conn, line string) {
		switch line {
		case "PASV":
			c.Reply(pasvText(loop, hs.dataPort()))
		case "RETR f":
			c.Reply("150 Here it comes.")
			if dc, err := sdl.Accept(); err == nil {
				dc.Write([]byte("data"))
				dc.Close()
			}
			// ... and no 226.
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), sdl.Addr().(*net.TCPAddr).AddrPort())
	hs.cmd("PASV")
	dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if r := hs.cmd("RETR f"); r != "150 Here it comes." {
		t.Fatalf("RETR: %q", r)
	}
	io.ReadAll(dc)
	dc.Close()
	if r := hs.readReply(); !strings.HasPrefix(r, "421 ") {
		t.Fatalf("after the data closed without a final reply: %q, want 421", r)
	}
	hs.waitEnd()
}
