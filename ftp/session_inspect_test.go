package ftp

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/internal/ftptest"
)

// grepHook refuses an object that contains its word.
type grepHook struct{ word string }

func (g grepHook) Name() string { return "grep" }
func (g grepHook) Inspect(_ context.Context, _ *inspect.Object, body *inspect.Spool) (inspect.Verdict, error) {
	b, err := io.ReadAll(body.Reader())
	if err != nil {
		return inspect.Verdict{}, err
	}
	if bytes.Contains(b, []byte(g.word)) {
		return inspect.Verdict{Allow: false, Reason: g.word + " FOUND"}, nil
	}
	return inspect.Verdict{Allow: true}, nil
}

// inspectHarness serves files from a scripted server through a session whose downloads
// are inspected by grepHook{"VIRUS"}.
func inspectHarness(t *testing.T, files map[string][]byte) (*harness, net.Listener) {
	t.Helper()
	return inspectHarnessWith(t, files, inspect.Settings{Download: inspect.ModeInspect, Hooks: []inspect.Hook{grepHook{"VIRUS"}}})
}

// inspectHarnessWith is inspectHarness with the inspection settings ins.
func inspectHarnessWith(t *testing.T, files map[string][]byte, ins inspect.Settings) (*harness, net.Listener) {
	t.Helper()
	sdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdl.Close() })
	var hs *harness
	cfg := Config{Spoof: true, Linger: 2 * time.Second, Hash: true,
		Inspect: ins.WithDefaults()}
	hs = newHarnessWith(t, 30*time.Second, cfg, func(c *ftptest.Conn, line string) {
		switch {
		case line == "PASV":
			c.Reply(pasvText(loop, hs.dataPort()))
		case strings.HasPrefix(line, "REST "):
			c.Reply("350 Restarting.")
		case strings.HasPrefix(line, "RETR "):
			c.Reply("150 Opening data connection.")
			sdl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
			dc, err := sdl.Accept()
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			dc.Write(files[strings.TrimPrefix(line, "RETR ")])
			dc.Close()
			c.Reply("226 Transfer complete.")
		default:
			c.Reply("200 Ok.")
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), sdl.Addr().(*net.TCPAddr).AddrPort())
	return hs, sdl
}

// retr runs PASV and RETR name on hs and returns what the data connection brought and the
// replies after the command.
func retr(t *testing.T, hs *harness, name string) ([]byte, string, string) {
	t.Helper()
	if got := hs.cmd("PASV"); !strings.HasPrefix(got, "227 ") {
		t.Fatalf("PASV: %q", got)
	}
	dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	first := hs.cmd("RETR " + name)
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(dc)
	return got, first, hs.readReply()
}

// TestInspectRefusesDownload: a refused object never reaches the client, whose data
// connection is reset and who gets 426; a clean one passes whole; both records say why.
func TestInspectRefusesDownload(t *testing.T) {
	bad := append(bytes.Repeat([]byte("x"), 300<<10), []byte("VIRUS")...)
	good := bytes.Repeat([]byte("clean "), 50000)
	hs, _ := inspectHarness(t, map[string][]byte{"bad": bad, "good": good})
	got, first, final := retr(t, hs, "bad")
	if first != "150 Opening data connection." || !strings.HasPrefix(final, "426 Transfer refused by inspection: grep: VIRUS FOUND") {
		t.Fatalf("replies %q, %q", first, final)
	}
	if len(got) != 0 {
		t.Fatalf("the client received %d bytes of a refused object", len(got))
	}
	rec := hs.waitRecord("transfer")
	if rec["reply"] != float64(426) || rec["server_reply"] != float64(226) || rec["refused"] != true || rec["bytes_to_client"] != float64(0) || rec["bytes_received"] != float64(len(bad)) {
		t.Errorf("record of the refused transfer %v", rec)
	}
	got, _, final = retr(t, hs, "good")
	if !bytes.Equal(got, good) || final != "226 Transfer complete." {
		t.Fatalf("clean object: %d bytes, %q", len(got), final)
	}
	_, xs := hs.audit.records()
	if len(xs) != 2 || !xs[0].Refused || xs[1].Refused || len(xs[1].Verdicts) != 1 || !xs[1].Verdicts[0].Allow {
		t.Errorf("audit records %+v", xs)
	}
}

// TestUnfinishedTransferRecorded: a client that leaves before the final reply still gets
// its transfer recorded when the session ends (reply 0, not complete).
func TestUnfinishedTransferRecorded(t *testing.T) {
	hs := newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		if strings.HasPrefix(line, "RETR") {
			c.Reply("150 Here it comes, some day.")
			return
		}
		c.Reply("200 Ok.")
	})
	if got := hs.cmd("RETR never.bin"); !strings.HasPrefix(got, "150 ") {
		t.Fatalf("RETR: %q", got)
	}
	hs.client.Close()
	hs.waitEnd()
	rec := hs.waitRecord("transfer")
	if rec["arg"] != "never.bin" || rec["reply"] != float64(0) || rec["complete"] != false || rec["server_reply"] != nil {
		t.Errorf("record %v", rec)
	}
}

// TestInspectRefusesRest: under inspect mode a restarted download gets 504 and the server
// gets REST 0, so that its next transfer starts at the beginning.
func TestInspectRefusesRest(t *testing.T) {
	hs, _ := inspectHarness(t, map[string][]byte{"good": []byte("0123456789")})
	if got := hs.cmd("PASV"); !strings.HasPrefix(got, "227 ") {
		t.Fatalf("PASV: %q", got)
	}
	if got := hs.cmd("REST 5"); got != "350 Restarting." {
		t.Fatalf("REST: %q", got)
	}
	if got := hs.cmd("RETR good"); !strings.HasPrefix(got, "504 ") {
		t.Fatalf("RETR after REST: %q, want 504", got)
	}
	if got := hs.cmd("NOOP"); got != "200 Ok." { // the REST 0 reply was not passed on
		t.Fatalf("NOOP after the refusal: %q", got)
	}
	var rets []string
	for _, l := range hs.srv.Received() {
		if strings.HasPrefix(l, "REST") || strings.HasPrefix(l, "RETR") {
			rets = append(rets, l)
		}
	}
	if strings.Join(rets, ",") != "REST 5,REST 0" {
		t.Errorf("the server got %v, want REST 5 then REST 0 and no RETR", rets)
	}
	// The next transfer starts at 0, for ftpgate as for the server.
	if got, _, final := retr(t, hs, "good"); string(got) != "0123456789" || final != "226 Transfer complete." {
		t.Fatalf("the next RETR: %q, %q", got, final)
	}
	if rec := hs.waitRecord("transfer"); rec["rest"] != float64(0) {
		t.Errorf("the next transfer's record has rest %v, want 0", rec["rest"])
	}
}

// TestInspectHoldsUploads: under upload: inspect the server sees neither the command nor a
// byte of a refused upload (the client gets 550); an allowed one reaches the server whole,
// and the client sees one 150 (ftpgate's) and the server's 226.
func TestInspectHoldsUploads(t *testing.T) {
	sdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sdl.Close()
	stored := make(chan []byte, 2)
	var hs *harness
	cfg := Config{Spoof: true, Linger: 2 * time.Second, Hash: true,
		Inspect: inspect.Settings{Upload: inspect.ModeInspect, Hooks: []inspect.Hook{grepHook{"VIRUS"}}}.WithDefaults()}
	hs = newHarnessWith(t, 30*time.Second, cfg, func(c *ftptest.Conn, line string) {
		switch {
		case line == "PASV":
			c.Reply(pasvText(loop, hs.dataPort()))
		case strings.HasPrefix(line, "STOR "):
			c.Reply("150 Ok to send data.")
			sdl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
			dc, err := sdl.Accept()
			if err != nil {
				c.Reply("425 No data connection.")
				return
			}
			b, _ := io.ReadAll(dc)
			dc.Close()
			stored <- b
			c.Reply("226 Transfer complete.")
		default:
			c.Reply("200 Ok.")
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), sdl.Addr().(*net.TCPAddr).AddrPort())
	stor := func(name string, data []byte) (string, string) {
		t.Helper()
		if got := hs.cmd("PASV"); !strings.HasPrefix(got, "227 ") {
			t.Fatalf("PASV: %q", got)
		}
		dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		first := hs.cmd("STOR " + name)
		dc.Write(data)
		dc.Close()
		return first, hs.readReply()
	}
	first, final := stor("bad.bin", append(bytes.Repeat([]byte("y"), 200<<10), []byte("VIRUS")...))
	if !strings.HasPrefix(first, "150 Ok to send data; ftpgate inspects") || !strings.HasPrefix(final, "550 Upload refused by inspection: grep: VIRUS FOUND") {
		t.Fatalf("refused upload: %q, %q", first, final)
	}
	for _, l := range hs.srv.Received() {
		if strings.HasPrefix(l, "STOR") {
			t.Fatalf("the server got %q for a refused upload", l)
		}
	}
	good := bytes.Repeat([]byte("fine "), 100000)
	first, final = stor("good.bin", good)
	if !strings.HasPrefix(first, "150 Ok to send data; ftpgate inspects") || final != "226 Transfer complete." {
		t.Fatalf("allowed upload: %q, %q", first, final)
	}
	select {
	case b := <-stored:
		if !bytes.Equal(b, good) {
			t.Fatalf("the server stored %d bytes, want %d", len(b), len(good))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server stored nothing")
	}
	if got := hs.cmd("NOOP"); got != "200 Ok." { // no stray reply (the server's 150) left over
		t.Fatalf("NOOP: %q", got)
	}
	_, xs := hs.audit.records()
	if len(xs) != 2 || xs[0].Reply != 550 || !xs[0].Refused || xs[1].Reply != 226 || xs[1].Refused || xs[1].Size != int64(len(good)) {
		t.Errorf("audit records %+v", xs)
	}
}

// TestEndWhileFinalReplyHeld: a session that ends while a transfer's final reply is held
// for data that will never pass ends at once, not after the linger time (ftpgate's
// shutdown waits for its sessions).
func TestEndWhileFinalReplyHeld(t *testing.T) {
	sdl, err := net.Listen("tcp4", "127.0.0.1:0") // accepts nothing: the data never ends
	if err != nil {
		t.Fatal(err)
	}
	defer sdl.Close()
	var hs *harness
	hs = newHarnessWith(t, 30*time.Second, Config{Spoof: true, Linger: 20 * time.Second}, func(c *ftptest.Conn, line string) {
		switch {
		case line == "PASV":
			c.Reply(pasvText(loop, hs.dataPort()))
		case strings.HasPrefix(line, "RETR"):
			c.Reply("150 Here.", "226 Done, says the server.")
		default:
			c.Reply("200 Ok.")
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), sdl.Addr().(*net.TCPAddr).AddrPort())
	if got := hs.cmd("PASV"); !strings.HasPrefix(got, "227 ") {
		t.Fatalf("PASV: %q", got)
	}
	// The client never connects its data connection: ftpgate's server leg is up (the
	// channel has a connection), its client leg never comes, and no path runs.
	if got := hs.cmd("RETR x"); got != "150 Here." {
		t.Fatalf("RETR: %q", got)
	}
	time.Sleep(100 * time.Millisecond) // the 226 is in, held for the data
	hs.client.Close()
	hs.waitEnd() // 5 s at most; the linger is 20 s
}
