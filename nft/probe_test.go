package nft

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		hint string
	}{
		{unix.EPERM, "need CAP_NET_ADMIN"},
		{unix.EACCES, "need CAP_NET_ADMIN"},
		{unix.EPROTONOSUPPORT, "kernel lacks nf_tables"},
		{unix.ENOENT, "kernel lacks nf_tables"},
		{unix.EIO, ""},
	}
	for _, tt := range tests {
		wrapped := fmt.Errorf("netlink receive: %w", tt.err)
		got := classify(wrapped)
		if !errors.Is(got, tt.err) {
			t.Errorf("classify(%v) = %v: lost the errno", tt.err, got)
		}
		if tt.hint == "" {
			if got != wrapped {
				t.Errorf("classify(%v) = %v, want unchanged", tt.err, got)
			}
			continue
		}
		if !strings.Contains(got.Error(), tt.hint) {
			t.Errorf("classify(%v) = %q, want hint %q", tt.err, got, tt.hint)
		}
	}
}

func TestProbeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Probe(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Probe(canceled) = %v, want context.Canceled", err)
	}
}

// TestProbeNetNS checks that Probe succeeds in a fresh namespace and leaves it empty.
func TestProbeNetNS(t *testing.T) {
	ns := newTestNS(t) // runs Probe itself; repeat to check it is read-only
	if err := Probe(context.Background(), WithNetNS(ns.fd)); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if out := ns.nft(t, "list", "ruleset"); strings.TrimSpace(out) != "" {
		t.Fatalf("Probe changed the ruleset: %q", out)
	}
}

// TestProbeUnprivileged checks the hint a user without CAP_NET_ADMIN gets. It only lists
// tables, so it may run in the current namespace; as root there is nothing to check.
func TestProbeUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("nft: skipping: runs only without root (root has CAP_NET_ADMIN)")
	}
	err := Probe(context.Background())
	if err == nil {
		t.Skip("nft: skipping: this user has CAP_NET_ADMIN")
	}
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "need CAP_NET_ADMIN") {
		t.Fatalf("Probe = %v, want EPERM with the CAP_NET_ADMIN hint", err)
	}
}
