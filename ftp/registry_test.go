package ftp

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
)

// loginHandler is a scripted server that logs anyone in and answers the rest with 200.
func loginHandler(c *ftptest.Conn, line string) {
	switch {
	case strings.HasPrefix(line, "USER "):
		c.Reply("331 Password please.")
	case strings.HasPrefix(line, "PASS "):
		c.Reply("230 Welcome.")
	default:
		c.Reply("200 ok")
	}
}

// TestRegistrySnapshotAndKill: a registered session is listed with its user and state, a
// kill ends it with its session record saying who killed it, and an unknown id is
// ErrNoSession.
func TestRegistrySnapshotAndKill(t *testing.T) {
	hs := newHarness(t, 30*time.Second, loginHandler)
	var r Registry
	r.Add(hs.sess)
	if got := r.Snapshot(); len(got) != 1 || got[0].State != StateLogin || got[0].ID != 7 {
		t.Fatalf("before login: %+v", got)
	}
	hs.cmd("USER bob")
	hs.cmd("PASS secret")
	got := r.Snapshot()
	if len(got) != 1 || got[0].User != "bob" || got[0].State != StateIdle || got[0].Transfer != nil ||
		got[0].Started.IsZero() || got[0].Client == "" || got[0].Server != hs.srv.Addr.String() {
		t.Fatalf("after login: %+v", got)
	}
	if err := r.Kill(99, "test"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("kill of an unknown id: %v", err)
	}
	if err := r.Kill(7, "test (uid 0)"); err != nil {
		t.Fatal(err)
	}
	hs.waitEnd()
	rec := hs.waitRecord("session killed")
	if rec["by"] != "test (uid 0)" {
		t.Fatalf("kill log record: %v", rec)
	}
	sessions, _ := hs.audit.records()
	if len(sessions) != 1 || !strings.Contains(sessions[0].Error, "killed by test (uid 0)") || sessions[0].User != "bob" {
		t.Fatalf("session records: %+v", sessions)
	}
	r.Remove(7)
	if r.Len() != 0 || len(r.Snapshot()) != 0 {
		t.Fatalf("after remove: %d", r.Len())
	}
	hs.sess.Kill("again") // harmless
}

// TestKillParkedSession: a session whose loops are parked off their goroutines ends when
// killed.
func TestKillParkedSession(t *testing.T) {
	hs, p := parkedHarness(t, 0)
	waitParked(t, p, 2)
	if got := hs.sess.Info(); got.State != StateLogin {
		t.Fatalf("parked session: %+v", got)
	}
	hs.sess.Kill("test")
	hs.waitEnd()
	waitParked(t, p, 0)
}

// TestKillDuringTransfer: a running RETR shows in the session's Info with its live bytes,
// and a kill ends it: the client's data connection ends, and the transfer record is
// written (reply 0).
func TestKillDuringTransfer(t *testing.T) {
	sdl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sdl.Close()
	release := make(chan struct{})
	defer close(release)
	var hs *harness
	hs = newHarness(t, 30*time.Second, func(c *ftptest.Conn, line string) {
		switch {
		case line == "PASV":
			c.Reply(pasvText(loop, hs.dataPort()))
		case line == "RETR slow.bin":
			c.Reply("150 Opening data connection.")
			dc, err := sdl.Accept()
			if err != nil {
				return
			}
			dc.Write(make([]byte, 300<<10))
			<-release // the rest never comes: the transfer runs until it is killed
			dc.Close()
		default:
			c.Reply("200 ok")
		}
	})
	hs.dialer.redirect(netip.AddrPortFrom(loop, hs.dataPort()), sdl.Addr().(*net.TCPAddr).AddrPort())
	hs.cmd("PASV")
	dc, err := net.Dial("tcp4", hs.dataLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if got := hs.cmd("RETR slow.bin"); !strings.HasPrefix(got, "150 ") {
		t.Fatalf("RETR: %q", got)
	}
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(dc, make([]byte, 300<<10)); err != nil {
		t.Fatal(err)
	}
	in := hs.sess.Info()
	for i := 0; i < 100 && (in.Transfer == nil || in.Transfer.Bytes < 300<<10); i++ { // counted just after the write
		time.Sleep(10 * time.Millisecond)
		in = hs.sess.Info()
	}
	if in.State != StateTransfer || in.Transfer == nil || in.Transfer.Command != "RETR" || in.Transfer.Arg != "slow.bin" ||
		in.Transfer.Bytes != 300<<10 || in.Transfer.Direction != "download" || in.Transfer.Rate <= 0 {
		t.Fatalf("running transfer: %+v %+v", in, in.Transfer)
	}
	hs.sess.Kill("test")
	if n, err := dc.Read(make([]byte, 1)); err == nil {
		t.Fatalf("data connection still open after the kill (read %d)", n)
	}
	hs.waitEnd()
	rec := hs.waitRecord("transfer")
	if rec["reply"] != float64(0) || rec["bytes_to_client"] != float64(300<<10) || rec["complete"] != false {
		t.Fatalf("transfer record: %v", rec)
	}
}
