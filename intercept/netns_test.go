package intercept

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// requireRoot skips t with one line unless the test runs as root with iproute2 installed.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (network namespaces, IP_TRANSPARENT, policy routing)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: needs iproute2 (`ip`) in PATH")
	}
}

// runCmd runs a command with a time limit and fails t on error; it returns stdout+stderr.
func runCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := tryCmd(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// tryCmd runs a command with a time limit and returns its combined output.
func tryCmd(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.WaitDelay = time.Second
	done := make(chan struct{})
	timer := time.AfterFunc(20*time.Second, func() {
		select {
		case <-done:
		default:
			if cmd.Process != nil {
				_ = cmd.Process.Kill() // our own child, by PID
			}
		}
	})
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	close(done)
	return string(out), err
}

// newNS creates a fresh network namespace "ftpg-<8hex>-role" with lo up and IPv6 DAD off,
// and deletes it in t.Cleanup.
func newNS(t *testing.T, role string) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random suffix: %v", err)
	}
	name := fmt.Sprintf("ftpg-%s-%s", hex.EncodeToString(b[:]), role)
	runCmd(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := tryCmd("ip", "netns", "del", name); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	nsSysctl(t, name, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	runCmd(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// nsSysctl sets sysctls inside namespace ns.
func nsSysctl(t *testing.T, ns string, settings ...string) {
	t.Helper()
	runCmd(t, "ip", append([]string{"netns", "exec", ns, "sysctl", "-qw"}, settings...)...)
}

// inNS runs fn on a fresh OS thread switched into namespace ns, so that sockets fn creates
// belong to ns. The thread stays locked and exits with its goroutine, so it never returns
// to the Go scheduler in the wrong namespace. fn must not call t.Fatal; its error fails t.
func inNS(t *testing.T, ns string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked on purpose: the thread dies with the goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("in netns %s: %v", ns, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("in netns %s: timed out", ns)
	}
}

// nsHandle returns a netlink handle for namespace ns, closed in t.Cleanup.
func nsHandle(t *testing.T, ns string) *netlink.Handle {
	t.Helper()
	nh, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatalf("open netns %s: %v", ns, err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", ns, err)
	}
	t.Cleanup(h.Close)
	return h
}
