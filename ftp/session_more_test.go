package ftp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
)

func TestSessionIdleTimeout(t *testing.T) {
	hs := newHarnessWith(t, 30*time.Second, Config{IdleTimeout: time.Second}, func(c *ftptest.Conn, line string) {
		c.Reply("200 Ok.")
	})
	// Activity keeps the session: four commands, each well within the timeout, span more than it.
	for i := 0; i < 4; i++ {
		time.Sleep(300 * time.Millisecond)
		if got := hs.cmd("NOOP"); got != "200 Ok." {
			t.Fatalf("NOOP %d: %q", i, got)
		}
	}
	hs.client.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := hs.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421 ") {
		t.Fatalf("after idling: %q, %v; want 421", line, err)
	}
	hs.waitEnd()
}

func TestSessionRFC2428(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch line {
		case "EPSV ALL":
			c.Reply("200 EPSV ALL ok.")
		case "EPSV", "EPSV 1":
			c.Reply("229 Entering Extended Passive Mode (|||40007|)")
		}
	})
	// EPSV 3: an unknown network protocol is 522 (RFC 2428), as the policy always answered it;
	// the session now shares its EPSV grammar (wire.ParseEPSVArg) with the policy.
	for cmd, want := range map[string]string{"EPSV 2": "522 ", "EPSV 3": "522 ", "EPSV x": "501 ", "EPSV 1": "229 "} {
		if got := hs.cmd(cmd); !strings.HasPrefix(got, want) {
			t.Errorf("%s on IPv4: %q, want %s", cmd, got, want)
		}
	}
	if got := hs.cmd("EPSV ALL"); got != "200 EPSV ALL ok." {
		t.Fatalf("EPSV ALL: %q", got)
	}
	for _, cmd := range []string{"PASV", "PORT 127,0,0,1,4,1", "EPRT |1|127.0.0.1|1025|"} {
		if got := hs.cmd(cmd); !strings.HasPrefix(got, "503 ") {
			t.Errorf("%s after EPSV ALL: %q, want 503", cmd, got)
		}
	}
	if got := hs.cmd("EPSV"); !strings.HasPrefix(got, "229 ") {
		t.Errorf("EPSV after EPSV ALL: %q", got)
	}
	want := []string{"EPSV 1", "EPSV ALL", "EPSV"}
	if got := hs.srv.Received(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server received %q, want %q", got, want)
	}
}

func TestSessionAbortSendsTelnetSynch(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		if strings.HasSuffix(line, "ABOR") {
			c.Reply("225 No transfer to abort.")
		}
	})
	// The client's own Telnet IP and Synch are consumed by the line reader ...
	if got := hs.cmd("\xff\xf4\xff\xf2ABOR"); got != "225 No transfer to abort." {
		t.Fatalf("ABOR: %q", got)
	}
	// ... and ftpgate sends its own: IAC IP, IAC, then DM as urgent data (not inline here).
	got := hs.srv.Received()
	if len(got) != 1 || got[0] != "\xff\xf4\xffABOR" {
		t.Fatalf("server received %q, want IAC IP IAC + ABOR", got)
	}
}

func TestServerRefusesTheGatewayItself(t *testing.T) {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var dialed mapDialer
	srv := &Server{Dialer: &dialed, Data: nopData{}, IsLocal: func(a netip.Addr) bool { return a.IsLoopback() }}
	go srv.Serve(t.Context(), ln)
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "421 ") {
		t.Fatalf("got %q, want 421", b)
	}
	if len(dialed.calls) != 0 {
		t.Fatalf("the gateway dialled %v", dialed.calls)
	}
}

// TestSessionBoundsPipelining: a client that pipelines far more commands than the server has
// answered is read no further while maxPending are owed (memory stays bounded); once the
// server answers, every reply reaches the client in command order and the session goes on.
func TestSessionBoundsPipelining(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	first := true
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		if first { // the first NOOP is answered only when the test says so
			first = false
			<-release
		}
		c.Reply("200 NOOP ok.")
	})
	// Refusals (a PORT to a third host) queue up behind the unanswered NOOP.
	const extra = 300
	var b strings.Builder
	b.WriteString("NOOP\r\n")
	for i := 0; i < maxPending+extra; i++ {
		b.WriteString("PORT 198,51,100,9,4,1\r\n")
	}
	b.WriteString("NOOP\r\n")
	go hs.client.Write([]byte(b.String()))
	hs.waitRecord("client pipelines more commands than are answered; reading no more until the server catches up")
	if n := hs.sess.backlog(); n != maxPending {
		t.Fatalf("%d entries owed while the client was held back, want %d", n, maxPending)
	}
	free()
	if got := hs.readReply(); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("first reply %q, want the NOOP's 200", got)
	}
	for i := 0; i < maxPending+extra; i++ {
		if got := hs.readReply(); !strings.HasPrefix(got, "501 ") {
			t.Fatalf("reply %d: %q, want 501", i+1, got)
		}
	}
	if got := hs.readReply(); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("last reply %q, want the second NOOP's 200", got)
	}
	if got := hs.cmd("NOOP"); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("the session did not go on: %q", got)
	}
}

// TestSessionSlowReader: a client that stops reading while the server sends large replies
// (STAT of a big directory) holds at most one reply in ftpgate's memory, and the session ends
// with a log line after the write timeout instead of hanging forever.
func TestSessionSlowReader(t *testing.T) {
	// 900 lines of 2000 bytes: just under the default reply bounds, 1.8 MB a reply.
	line := strings.Repeat("x", 2000)
	stat := make([]string, 0, 901)
	for i := 0; i < 900; i++ {
		stat = append(stat, "213-"+line)
	}
	stat = append(stat, "213 End of status.")
	var sent atomic.Int64
	hs := newHarnessWith(t, 30*time.Second, Config{Spoof: true, WriteTimeout: 2 * time.Second}, func(c *ftptest.Conn, l string) {
		c.Reply(stat...)
		sent.Add(1)
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// 50 STATs ask for 90 MB of replies; the client reads none of them.
	hs.send(strings.TrimSuffix(strings.Repeat("STAT /\r\n", 50), "\r\n"))
	// The peak live heap while the session is stuck, sampled until it ends (at most 100
	// samples); collected first, so garbage the GC has not yet reclaimed does not count.
	var peak uint64
	for i := 0; i < 100; i++ {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
		select {
		case <-hs.done:
			i = 100
		case <-time.After(50 * time.Millisecond):
		}
	}
	hs.waitRecord("the client takes no replies; closing the session")
	if n := sent.Load(); n >= 50 {
		t.Errorf("the server could send all %d replies to a client that reads nothing", n)
	}
	// The reply being written, the one being read and their copies (a few 1.8 MB replies at
	// the moments sampled), never the 90 MB that queueing the replies would hold.
	if grew := int64(peak) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Errorf("heap grew by %d MiB while the client read nothing", grew>>20)
	}
	t.Logf("server sent %d of 50 replies; heap in use %d KiB before, at most %d KiB while stuck; log %d KiB", sent.Load(), before.HeapAlloc>>10, peak>>10, hs.logs.b.Len()>>10)
}

// TestSessionGreetingTimeout: a server that accepts and never greets gets the client a 421
// after the greeting timeout, not after the idle timeout.
func TestSessionGreetingTimeout(t *testing.T) {
	silent, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never greeted
		}
	}()
	c, acc := controlPair(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	s := NewSession(1, acc, silent.Addr().(*net.TCPAddr).AddrPort(), Config{GreetingTimeout: 300 * time.Millisecond}, &mapDialer{}, nopData{}, nil, log)
	done := make(chan struct{})
	go func() { s.Serve(t.Context()); close(done) }()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "421 ") {
		t.Fatalf("client got %q, want 421", b)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
	}
	if len(logs.records("the server sent no greeting; closing the session")) != 1 {
		t.Errorf("no log line for the missing greeting:\n%s", logs.b.String())
	}
}

// TestSessionNetlinkErrorRefusesChannel: a netlink error installing the expectation refuses
// that data channel with 425 and a log line; the session goes on and the next PASV works.
func TestSessionNetlinkErrorRefusesChannel(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch line {
		case "PASV":
			c.Reply(pasvText(loop, 40007))
		case "NOOP":
			c.Reply("200 Ok.")
		}
	})
	hs.fake.FailNext(errors.New("netlink receive: no buffer space available"))
	if got := hs.cmd("PASV"); got != "425 Cannot open data connection: cannot install expectation." {
		t.Fatalf("PASV with a netlink error: %q", got)
	}
	if n := len(hs.logs.records("passive reply refused: cannot install expectation")); n != 1 {
		t.Errorf("netlink error logged %d times, want 1", n)
	}
	if got := hs.cmd("NOOP"); got != "200 Ok." {
		t.Fatalf("session did not go on: %q", got)
	}
	if got := hs.cmd("PASV"); !strings.HasPrefix(got, "227 ") {
		t.Fatalf("the next PASV: %q", got)
	}
	if els := hs.elements(); !strings.Contains(els, ". 40007") {
		t.Errorf("the next PASV installed no element: %q", els)
	}
}

// TestSessionManyPASV: a thousand PASV in a row leave one expectation, the last.
func TestSessionManyPASV(t *testing.T) {
	port := uint16(40000)
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		if line == "PASV" {
			port++
			c.Reply(pasvText(loop, port))
		}
	})
	for i := 0; i < 1000; i++ {
		if got := hs.cmd("PASV"); !strings.HasPrefix(got, "227 ") {
			t.Fatalf("PASV %d: %q", i, got)
		}
	}
	if els, want := hs.elements(), fmt.Sprintf(`127.0.0.1 . 127.0.0.1 . %d timeout 30s comment "session 7 PASV"`, 41000); els != want {
		t.Fatalf("after 1000 PASV: elements %q, want only %q", els, want)
	}
	if n := hs.reg.Len(); n != 1 {
		t.Fatalf("registry holds %d expectations, want 1", n)
	}
}

// TestSessionUnsolicitedPassiveReply: a 227 or 229 the server sends unasked reaches the
// client as any unsolicited reply does, and opens nothing.
func TestSessionUnsolicitedPassiveReply(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		if line == "NOOP" {
			c.Reply("200 Ok.", pasvText(loop, 40123), "229 Entering Extended Passive Mode (|||40124|)")
		}
	})
	if got := hs.cmd("NOOP"); got != "200 Ok." {
		t.Fatalf("NOOP: %q", got)
	}
	for _, want := range []string{"227 ", "229 "} {
		if got := hs.readReply(); !strings.HasPrefix(got, want) {
			t.Fatalf("unsolicited reply %q, want %s…", got, want)
		}
	}
	if els := hs.elements(); els != "" {
		t.Errorf("an unsolicited passive reply installed %q", els)
	}
}

// TestSessionHostileServerReplies: a server that answers with more lines than a reply may
// have, or with one endless line, gets the client a 421 and ends the session; ftpgate reads
// no more of it than its bounds (MaxLine × MaxReplyLines) allow.
func TestSessionHostileServerReplies(t *testing.T) {
	for name, reply := range map[string]func(c *ftptest.Conn){
		"too many lines": func(c *ftptest.Conn) {
			for i := 0; i < 100000; i++ { // 100000 lines, 100 times the bound
				if _, err := io.WriteString(c.Conn, "213-line\r\n"); err != nil {
					return
				}
			}
		},
		"endless line": func(c *ftptest.Conn) {
			chunk := []byte("213-" + strings.Repeat("x", 65536))
			for i := 0; i < 1600; i++ { // 100 MiB without a line end
				if _, err := c.Conn.Write(chunk); err != nil {
					return
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) { reply(c) })
			if got := hs.cmd("STAT /"); !strings.HasPrefix(got, "421 ") {
				t.Fatalf("client got %q, want 421", got)
			}
			hs.waitEnd()
			if len(hs.logs.records("invalid reply from server, closing session")) != 1 {
				t.Errorf("no log line for the invalid reply:\n%s", hs.logs.b.String())
			}
		})
	}
}
