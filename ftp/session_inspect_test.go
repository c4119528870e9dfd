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
	sdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdl.Close() })
	var hs *harness
	cfg := Config{Spoof: true, Linger: 2 * time.Second, Hash: true,
		Inspect: inspect.Settings{Download: inspect.ModeInspect, Hooks: []inspect.Hook{grepHook{"VIRUS"}}}.WithDefaults()}
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
