package ftp

import (
	"errors"
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
