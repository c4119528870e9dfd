package datachan

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/nft"
)

var (
	loopback = netip.MustParseAddr("127.0.0.1")
	client   = netip.MustParseAddr("198.51.100.2")
	server   = netip.MustParseAddr("203.0.113.2")
	c6       = netip.MustParseAddr("2001:db8:1::2")
	s6       = netip.MustParseAddr("2001:db8:2::2")
)

func newFakeRegistry(t *testing.T, timeout time.Duration) (*nft.Fake, *Registry) {
	t.Helper()
	f := nft.NewFake(nft.Config{})
	if err := f.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f, NewRegistry(f, timeout, nil)
}

func elementsOf(t *testing.T, f *nft.Fake) string {
	t.Helper()
	els, err := f.Elements(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range els {
		s = append(s, e.String())
	}
	return strings.Join(s, "; ")
}

func TestRegistryLifecycle(t *testing.T) {
	ctx := context.Background()
	f, r := newFakeRegistry(t, 30*time.Second)
	k := nft.Element{Src: client, Dst: server, Port: 40001}
	if err := r.Expect(ctx, 1, k, func(*net.TCPConn) {}); err != nil {
		t.Fatal(err)
	}
	if got, want := elementsOf(t, f), "198.51.100.2 . 203.0.113.2 . 40001 timeout 30s"; got != want {
		t.Fatalf("elements %q, want %q", got, want)
	}
	if !strings.Contains(f.Text(), "elements = { 198.51.100.2 . 203.0.113.2 . 40001 timeout 30s }") {
		t.Fatalf("rendered table lacks the element:\n%s", f.Text())
	}
	// A connection from another host, or to another port, claims nothing.
	for _, c := range [][2]netip.AddrPort{
		{netip.AddrPortFrom(netip.MustParseAddr("198.51.100.3"), 5000), netip.AddrPortFrom(server, 40001)},
		{netip.AddrPortFrom(client, 5000), netip.AddrPortFrom(server, 40002)},
	} {
		if _, _, ok := r.Claim(ctx, c[0], c[1]); ok {
			t.Fatalf("Claim(%v) succeeded", c)
		}
	}
	owner, h, ok := r.Claim(ctx, netip.AddrPortFrom(client, 5000), netip.AddrPortFrom(server, 40001))
	if !ok || owner != 1 || h == nil {
		t.Fatalf("Claim = %d, %v, %v", owner, h != nil, ok)
	}
	if got := elementsOf(t, f); got != "" {
		t.Fatalf("element left after claim: %q", got)
	}
	if _, _, ok := r.Claim(ctx, netip.AddrPortFrom(client, 5001), netip.AddrPortFrom(server, 40001)); ok {
		t.Fatal("a second connection claimed the same expectation")
	}
}

func TestRegistrySupersedeCancelCollide(t *testing.T) {
	ctx := context.Background()
	f, r := newFakeRegistry(t, 30*time.Second)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Expect(ctx, 1, nft.Element{Src: client, Dst: server, Port: 40001}, nil))
	must(r.Expect(ctx, 1, nft.Element{Src: client, Dst: server, Port: 40002}, nil))
	must(r.Expect(ctx, 2, nft.Element{Src: c6, Dst: s6, Port: 40001}, nil))
	if got, want := elementsOf(t, f), "198.51.100.2 . 203.0.113.2 . 40002 timeout 30s; 2001:db8:1::2 . 2001:db8:2::2 . 40001 timeout 30s"; got != want {
		t.Fatalf("elements %q, want %q", got, want)
	}
	if err := r.Expect(ctx, 3, nft.Element{Src: client, Dst: server, Port: 40002}, nil); !errors.Is(err, ErrInUse) {
		t.Fatalf("collision: err = %v, want ErrInUse", err)
	}
	if err := r.Expect(ctx, 3, nft.Element{Src: client, Dst: s6, Port: 40002}, nil); err == nil {
		t.Fatal("mixed families accepted")
	}
	r.Cancel(ctx, 1)
	if got, want := elementsOf(t, f), "2001:db8:1::2 . 2001:db8:2::2 . 40001 timeout 30s"; got != want {
		t.Fatalf("after cancel: %q, want %q", got, want)
	}
	r.Cancel(ctx, 2)
	r.Cancel(ctx, 2)
	if r.Len() != 0 || elementsOf(t, f) != "" {
		t.Fatalf("registry not empty: %d, %q", r.Len(), elementsOf(t, f))
	}
}

func TestRegistryKernelFailure(t *testing.T) {
	ctx := context.Background()
	f, r := newFakeRegistry(t, 30*time.Second)
	f.FailNext(errors.New("netlink: no buffer space"))
	if err := r.Expect(ctx, 1, nft.Element{Src: client, Dst: server, Port: 40001}, nil); err == nil {
		t.Fatal("Expect hid the kernel failure")
	}
	if r.Len() != 0 {
		t.Fatal("failed expectation kept in the registry")
	}
}

func TestRegistryExpiry(t *testing.T) {
	f, r := newFakeRegistry(t, 200*time.Millisecond)
	if err := r.Expect(context.Background(), 1, nft.Element{Src: client, Dst: server, Port: 40001}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for r.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if r.Len() != 0 || elementsOf(t, f) != "" {
		t.Fatalf("expectation did not expire: %d, %q", r.Len(), elementsOf(t, f))
	}
}

func TestRegistryWithdraw(t *testing.T) {
	ctx := context.Background()
	f, r := newFakeRegistry(t, 30*time.Second)
	old, cur := nft.Element{Src: client, Dst: server, Port: 40001}, nft.Element{Src: client, Dst: server, Port: 40002}
	if err := r.Expect(ctx, 1, old, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Expect(ctx, 1, cur, nil); err != nil {
		t.Fatal(err)
	}
	r.Withdraw(ctx, 1, old) // the superseded one: must not touch the current one
	if got := elementsOf(t, f); got != "198.51.100.2 . 203.0.113.2 . 40002 timeout 30s" {
		t.Fatalf("after withdrawing a superseded key: %q", got)
	}
	r.Withdraw(ctx, 1, cur)
	if got := elementsOf(t, f); got != "" {
		t.Fatalf("after withdrawing the current key: %q", got)
	}
}

// TestRegistryLimit: over the limit a new expectation is refused, a session superseding its
// own is not, and a freed place can be taken again.
func TestRegistryLimit(t *testing.T) {
	ctx := context.Background()
	f, r := newFakeRegistry(t, 30*time.Second)
	r.SetLimit(2)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Expect(ctx, 1, nft.Element{Src: client, Dst: server, Port: 40001}, nil))
	must(r.Expect(ctx, 2, nft.Element{Src: client, Dst: server, Port: 40002}, nil))
	if err := r.Expect(ctx, 3, nft.Element{Src: client, Dst: server, Port: 40003}, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("third expectation: %v, want ErrFull", err)
	}
	must(r.Expect(ctx, 2, nft.Element{Src: client, Dst: server, Port: 40004}, nil)) // supersedes its own
	r.Cancel(ctx, 1)
	must(r.Expect(ctx, 3, nft.Element{Src: client, Dst: server, Port: 40003}, nil))
	if got := elementsOf(t, f); strings.Count(got, "timeout") != 2 || strings.Contains(got, "40001") || strings.Contains(got, "40002") {
		t.Fatalf("elements %q, want 40003 and 40004 only", got)
	}
}
