package sdnotify

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen opens a Receiver and returns its path and a function that reads the next
// datagram.
func listen(t *testing.T) (string, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	r, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return path, func() string {
		got, err := r.Next(5 * time.Second)
		if err != nil {
			t.Fatalf("no datagram: %v", err)
		}
		return got
	}
}

func TestNotify(t *testing.T) {
	path, next := listen(t)
	n, err := New(path)
	if err != nil || !n.Enabled() {
		t.Fatalf("New: %v", err)
	}
	if err := n.Notify(Ready, Status("serving\non 2121")); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "READY=1\nSTATUS=serving on 2121\n" {
		t.Errorf("datagram %q", got)
	}
	if err := n.Notify(Reloading, MonotonicUsec()); err != nil {
		t.Fatal(err)
	}
	if got := next(); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("datagram %q", got)
	}
}

func TestDisabled(t *testing.T) {
	n, err := New("")
	if err != nil || n.Enabled() || n.Notify(Ready) != nil {
		t.Fatalf("an unset NOTIFY_SOCKET: %v %v", n, err)
	}
	if _, err := New("relative/path"); err == nil {
		t.Error("a relative NOTIFY_SOCKET was accepted")
	}
	if n, _ := New("@ftpgate-test-none"); !n.Enabled() || n.Notify(Ready) == nil {
		t.Error("an abstract socket nobody listens on: no error")
	}
}
