package nft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testNS is a fresh network namespace for one root test.
type testNS struct {
	name string
	fd   int
}

// newTestNS creates a network namespace named ftpg-<8hex>-nft and removes it when the test
// ends, even on failure. It skips the test when not root or when namespaces or nf_tables are
// unavailable. The root network namespace is never touched.
func newTestNS(t testing.TB) testNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("nft: skipping: needs root to create a network namespace and program nf_tables")
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "ftpg-" + hex.EncodeToString(b[:]) + "-nft"
	if out, err := runCmd(t, "ip", "netns", "add", name); err != nil {
		t.Skipf("nft: skipping: cannot create network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := runCmd(t, "ip", "netns", "delete", name); err != nil {
			t.Errorf("delete netns %s: %v: %s", name, err, out)
		}
	})
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	ns := testNS{name: name, fd: int(f.Fd())}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Probe(ctx, WithNetNS(ns.fd)); err != nil {
		var ke *kernelError
		if errors.As(err, &ke) {
			t.Skipf("nft: skipping: %v", err)
		}
		t.Fatalf("probe: %v", err)
	}
	return ns
}

// nft runs the nft CLI inside the namespace and returns its output; it fails the test on error.
func (ns testNS) nft(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ns.nftErr(t, args...)
	if err != nil {
		t.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// nftErr runs the nft CLI inside the namespace and returns its output and error.
func (ns testNS) nftErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCmd(t, "ip", append([]string{"netns", "exec", ns.name, "nft"}, args...)...)
}

// runCmd runs a command with a 10s limit and returns its combined output.
func runCmd(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
