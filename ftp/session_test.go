package ftp

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/internal/ftptest"
)

var loop = netip.MustParseAddr("127.0.0.1")

// pasvText formats a 227 text announcing addr:port.
func pasvText(addr netip.Addr, port uint16) string {
	return "227 " + wire.FormatPASVReply(netip.AddrPortFrom(addr, port))
}

func TestSessionRelaysCommandsAndReplies(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch {
		case strings.HasPrefix(line, "USER "):
			c.Reply("331 Password please.")
		case strings.HasPrefix(line, "PASS "):
			c.Reply("230 Welcome.")
		case line == "SYST":
			c.Reply("215-Multi", " line text", "215 UNIX Type: L8")
		default:
			c.Reply("502 Not here.")
		}
	})
	if got := hs.cmd("USER bob"); got != "331 Password please." {
		t.Fatalf("USER: %q", got)
	}
	if got := hs.cmd("PASS secret"); got != "230 Welcome." {
		t.Fatalf("PASS: %q", got)
	}
	hs.send("SYST")
	for _, want := range []string{"215-Multi", " line text", "215 UNIX Type: L8"} {
		if got := hs.readReply(); got != want {
			t.Fatalf("SYST line = %q, want %q", got, want)
		}
	}
	if got := hs.cmd("XYZZY"); got != "502 Not here." {
		t.Fatalf("unknown command: %q", got)
	}
	if got := hs.cmd("QUIT"); got != "221 Goodbye." {
		t.Fatalf("QUIT: %q", got)
	}
	hs.waitEnd()
	if l := hs.waitRecord("login"); l["user"] != "bob" {
		t.Errorf("login record user = %v", l["user"])
	}
	if strings.Contains(hs.logs.b.String(), "secret") {
		t.Error("the password appears in the log")
	}
}

func TestSessionPassiveRetrieve(t *testing.T) {
	payload := bytes.Repeat([]byte("ftpgate-"), 64<<10) // 512 KiB
	sdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sdl.Close()
	var hs *harness
	hs = newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch {
		case line == "TYPE I":
			c.Reply("200 Binary.")
		case line == "REST 100":
			c.Reply("350 Restarting.")
		case line == "PASV":
			c.Reply(pasvText(loop, hs.dataPort()))
		case line == "RETR big.bin":
			c.Reply("150 Opening data connection.")
			dc, err := sdl.Accept()
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			dc.Write(payload[100:])
			dc.Close()
			c.Reply("226 Transfer complete.")
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), sdl.Addr().(*net.TCPAddr).AddrPort())
	if got := hs.cmd("TYPE I"); got != "200 Binary." {
		t.Fatalf("TYPE: %q", got)
	}
	if got := hs.cmd("PASV"); !strings.HasPrefix(got, "227 ") {
		t.Fatalf("PASV: %q", got)
	}
	want := fmt.Sprintf("127.0.0.1 . 127.0.0.1 . %d", hs.dataPort())
	if els := hs.elements(); !strings.Contains(els, want) {
		t.Fatalf("after 227 the table lacks %q:\n%s", want, hs.fake.Text())
	}
	dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if got := hs.cmd("REST 100"); got != "350 Restarting." {
		t.Fatalf("REST: %q", got)
	}
	if got := hs.cmd("RETR big.bin"); got != "150 Opening data connection." {
		t.Fatalf("RETR: %q", got)
	}
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(dc)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payload[100:]) {
		t.Fatalf("data differs: got %d bytes, want %d", len(got), len(payload)-100)
	}
	if r := hs.readReply(); r != "226 Transfer complete." {
		t.Fatalf("final reply %q", r)
	}
	if els := hs.elements(); els != "" {
		t.Errorf("element left after the connection was claimed: %s", els)
	}
	rec := hs.waitRecord("transfer")
	for k, v := range map[string]any{
		"command": "RETR", "arg": "big.bin", "direction": "download", "type": "I",
		"bytes_to_client": float64(len(payload) - 100), "bytes_to_server": float64(0),
		"reply": float64(226), "rest": float64(100), "session": float64(7),
		"client": "127.0.0.1", "server": hs.srv.Addr.String(),
		"sha256": fmt.Sprintf("%x", sha256.Sum256(payload[100:])), "size": float64(len(payload) - 100),
	} {
		if rec[k] != v {
			t.Errorf("transfer record %s = %v, want %v", k, rec[k], v)
		}
	}
	// The audit record says the same, and names both data connections.
	_, xs := hs.audit.records()
	if len(xs) != 1 {
		t.Fatalf("%d audit transfer records, want 1", len(xs))
	}
	x := xs[0]
	if x.Command != "RETR" || x.Arg != "big.bin" || x.Rest != 100 || x.Type != "I" || x.Path != "proxy" ||
		x.SHA256 != rec["sha256"] || x.Size != int64(len(payload)-100) || x.Reply != 226 || !x.Complete || x.Session != 7 {
		t.Errorf("audit transfer record %+v", x)
	}
	if !strings.HasPrefix(x.DataClient, dc.LocalAddr().String()+" -> ") {
		t.Errorf("audit data_client %q, want the client's data connection from %s", x.DataClient, dc.LocalAddr())
	}
	if !strings.HasSuffix(x.DataServer, " -> "+sdl.Addr().String()) {
		t.Errorf("audit data_server %q, want a connection to %s", x.DataServer, sdl.Addr())
	}
}

// TestAuditSessionRecord: the session's audit record counts its commands and names what
// was refused, with the verb and the reply.
func TestAuditSessionRecord(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) { c.Reply("200 Ok.") })
	if got := hs.cmd("NOOP"); got != "200 Ok." {
		t.Fatalf("NOOP: %q", got)
	}
	if got := hs.cmd("PORT 198,51,100,9,4,1"); !strings.HasPrefix(got, "501 ") {
		t.Fatalf("bounce PORT: %q", got)
	}
	hs.send("QUIT")
	hs.readReply()
	hs.waitEnd()
	ss, _ := hs.audit.records()
	if len(ss) != 1 {
		t.Fatalf("%d session records, want 1", len(ss))
	}
	r := ss[0]
	if r.Session != 7 || r.Commands != 3 || r.RefusedTotal != 1 || len(r.Refused) != 1 ||
		r.Refused[0].Command != "PORT" || r.Refused[0].Reply != 501 || r.Client != hs.client.LocalAddr().String() {
		t.Errorf("session record %+v", r)
	}
}

func TestSessionActiveStore(t *testing.T) {
	payload := bytes.Repeat([]byte{0, 1, 2, 250}, 100000)
	cdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cdl.Close()
	var (
		hs       *harness
		atPort   string
		received = make(chan []byte, 1)
	)
	hs = newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch {
		case strings.HasPrefix(line, "PORT "):
			atPort = hs.elements() // the expectation must exist before the server sees PORT
			c.Reply("200 PORT ok.")
		case line == "STOR up.bin":
			c.Reply("150 Ok to send data.")
			dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			b, _ := io.ReadAll(dc)
			dc.Close()
			received <- b
			c.Reply("226 Transfer complete.")
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), cdl.Addr().(*net.TCPAddr).AddrPort())
	port := wire.FormatPORT(netip.AddrPortFrom(loop, hs.dataPort()))
	if got := hs.cmd("PORT " + port); got != "200 PORT ok." {
		t.Fatalf("PORT: %q", got)
	}
	want := fmt.Sprintf("127.0.0.1 . 127.0.0.1 . %d", hs.dataPort())
	if !strings.Contains(atPort, want) {
		t.Fatalf("when the server saw PORT the table held %q, want %q", atPort, want)
	}
	hs.send("STOR up.bin")
	cdl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	dc, err := cdl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if r := hs.readReply(); r != "150 Ok to send data." {
		t.Fatalf("STOR: %q", r)
	}
	dc.Write(payload)
	dc.Close()
	select {
	case b := <-received:
		if !bytes.Equal(b, payload) {
			t.Fatalf("server received %d bytes, want %d", len(b), len(payload))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server received nothing")
	}
	if r := hs.readReply(); r != "226 Transfer complete." {
		t.Fatalf("final reply %q", r)
	}
	rec := hs.waitRecord("transfer")
	if rec["direction"] != "upload" || rec["bytes_to_server"] != float64(len(payload)) || rec["bytes_to_client"] != float64(0) {
		t.Errorf("transfer record = %v", rec)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(payload)); rec["sha256"] != want || rec["size"] != float64(len(payload)) {
		t.Errorf("transfer record sha256 %v size %v, want %s %d", rec["sha256"], rec["size"], want, len(payload))
	}
}

func TestSessionRefusesForeignAndPrivilegedPORT(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) { c.Reply("200 Ok.") })
	for _, arg := range []string{
		"PORT 198,51,100,9,4,1",     // a third host: the bounce attack
		"PORT 127,0,0,1,0,21",       // a privileged port
		"PORT 127,0,0,1,300,1",      // not a PORT argument
		"EPRT |1|203.0.113.7|5000|", // a third host, extended
		"EPRT |1|127.0.0.1|1023|",   // privileged, extended
	} {
		if got := hs.cmd(arg); !strings.HasPrefix(got, "501 ") {
			t.Errorf("%s: reply %q, want 501", arg, got)
		}
	}
	if got := hs.cmd("EPRT |2|2001:db8::1|5000|"); !strings.HasPrefix(got, "522 ") {
		t.Errorf("EPRT of the other family: reply %q, want 522", got)
	}
	if got := hs.cmd("NOOP"); got != "200 Ok." {
		t.Fatalf("session did not go on: %q", got)
	}
	for _, l := range hs.srv.Received() {
		if strings.HasPrefix(l, "PORT") || strings.HasPrefix(l, "EPRT") {
			t.Errorf("server received %q", l)
		}
	}
	if els := hs.elements(); els != "" {
		t.Errorf("elements installed for refused commands: %s", els)
	}
	if n := len(hs.logs.records("command refused: PORT names a host other than the client")); n != 1 {
		t.Errorf("bounce attempt logged %d times, want 1", n)
	}
}

func TestSessionRefusesForeignPassiveAddress(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch line {
		case "PASV":
			c.Reply(pasvText(netip.MustParseAddr("198.51.100.77"), 40000))
		case "EPSV":
			c.Reply("229 Entering Extended Passive Mode (|||80|)")
		}
	})
	if got := hs.cmd("PASV"); !strings.HasPrefix(got, "425 ") {
		t.Fatalf("227 naming a third host: client got %q, want 425", got)
	}
	if got := hs.cmd("EPSV"); !strings.HasPrefix(got, "425 ") {
		t.Fatalf("229 naming a privileged port: client got %q, want 425", got)
	}
	if els := hs.elements(); els != "" {
		t.Errorf("elements installed: %s", els)
	}
}

func TestSessionSupersedeAndEnd(t *testing.T) {
	var n uint16
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch line {
		case "EPSV":
			n++
			c.Reply(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", 40000+n))
		}
	})
	hs.cmd("EPSV")
	if got, want := hs.elements(), "127.0.0.1 . 127.0.0.1 . 40001"; !strings.Contains(got, want) {
		t.Fatalf("elements %q, want %q", got, want)
	}
	hs.cmd("EPSV")
	got := hs.elements()
	if strings.Contains(got, "40001") || !strings.Contains(got, "127.0.0.1 . 127.0.0.1 . 40002") {
		t.Fatalf("after a second EPSV elements = %q, want only port 40002", got)
	}
	hs.client.Close()
	hs.waitEnd()
	if got := hs.elements(); got != "" {
		t.Fatalf("session ended but elements remain: %q", got)
	}
}

func TestSessionExpectationExpires(t *testing.T) {
	hs := newHarness(t, 300*time.Millisecond, func(c *ftptest.Conn, line string) {
		c.Reply("229 Entering Extended Passive Mode (|||40100|)")
	})
	hs.cmd("EPSV")
	if hs.elements() == "" {
		t.Fatal("no element after 229")
	}
	for i := 0; i < 40 && hs.elements() != ""; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if got := hs.elements(); got != "" {
		t.Fatalf("unused expectation still present after its timeout: %q", got)
	}
}

func TestSessionBadLinesAndOrdering(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		if line == "NOOP" {
			time.Sleep(200 * time.Millisecond) // the gateway's own reply must wait for this one
			c.Reply("200 NOOP ok.")
		}
	})
	if got := hs.cmd(strings.Repeat("A", 5000)); !strings.HasPrefix(got, "500 ") {
		t.Fatalf("overlong line: %q", got)
	}
	if got := hs.cmd("NO\x00OP"); !strings.HasPrefix(got, "500 ") {
		t.Fatalf("NUL: %q", got)
	}
	if got := hs.cmd("AUTH TLS"); !strings.HasPrefix(got, "534 ") {
		t.Fatalf("AUTH: %q", got)
	}
	if got := hs.cmd("REST -5"); !strings.HasPrefix(got, "501 ") {
		t.Fatalf("REST -5: %q", got)
	}
	hs.send("NOOP\r\nPORT 198,51,100,9,4,1")
	if got := hs.readReply(); got != "200 NOOP ok." {
		t.Fatalf("first reply %q, want the NOOP's", got)
	}
	if got := hs.readReply(); !strings.HasPrefix(got, "501 ") {
		t.Fatalf("second reply %q, want the PORT's 501", got)
	}
}

func TestSessionUnreachableServer(t *testing.T) {
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	dead := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	c, acc := controlPair(t)
	s := NewSession(1, acc, dead, Config{}, &mapDialer{}, nopData{}, nil, nil)
	if err := s.Serve(t.Context()); err == nil {
		t.Fatal("Serve returned nil for an unreachable server")
	}
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "421 ") {
		t.Fatalf("client got %q, want 421", b)
	}
}

// TestSessionHoldsFinalReply: a server that sends 226 right after closing a small data
// connection must not get the 226 to the client before the client's data leg is up and done
// (curl in active mode fails otherwise).
func TestSessionHoldsFinalReply(t *testing.T) {
	cdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cdl.Close()
	var hs *harness
	hs = newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch {
		case strings.HasPrefix(line, "PORT "):
			c.Reply("200 PORT ok.")
		case line == "LIST":
			c.Reply("150 Here comes the listing.")
			dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			dc.Write([]byte("-rw-r--r-- 1 ftp ftp 5 Nov 22 03:00 a.txt\r\n"))
			dc.Close()
			c.Reply("226 Directory send OK.")
		}
	})
	hs.dialer.slow = 300 * time.Millisecond
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), cdl.Addr().(*net.TCPAddr).AddrPort())
	if got := hs.cmd("PORT " + wire.FormatPORT(netip.AddrPortFrom(loop, hs.dataPort()))); got != "200 PORT ok." {
		t.Fatalf("PORT: %q", got)
	}
	if got := hs.cmd("LIST"); got != "150 Here comes the listing." {
		t.Fatalf("LIST: %q", got)
	}
	// The client reads nothing from its data socket until the final reply arrived; by then the
	// data connection must already be in its accept queue with the whole listing.
	final := hs.readReply()
	if final != "226 Directory send OK." {
		t.Fatalf("final reply %q", final)
	}
	// (Go refuses an already expired deadline before trying; 50ms is far below the dial delay.)
	cdl.(*net.TCPListener).SetDeadline(time.Now().Add(50 * time.Millisecond))
	dc, err := cdl.Accept()
	if err != nil {
		t.Fatalf("%q reached the client before its data connection: %v", final, err)
	}
	defer dc.Close()
	dc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(dc)
	if err != nil || !strings.Contains(string(b), "a.txt") {
		t.Fatalf("listing %q, err %v", b, err)
	}
}
