package intercept

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRoutingCheckFree: an empty namespace is free; a foreign rule with the mark, a foreign
// rule looking up the table, or a foreign route in the table is reported, naming it; the
// rule and route Setup added (a crashed run's) are not in the way.
func TestRoutingCheckFree(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "rf")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := &Routing{Mark: 1, Table: 100, Handle: nsHandle(t, ns), Log: slog.New(slog.DiscardHandler)}
	if err := r.CheckFree(ctx); err != nil {
		t.Fatalf("CheckFree in an empty namespace: %v", err)
	}
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckFree(ctx); err != nil {
		t.Fatalf("CheckFree with ftpgate's own routing: %v", err)
	}
	for _, c := range []struct {
		add, del []string
		want     string
	}{
		{[]string{"-4", "rule", "add", "fwmark", "0x1", "lookup", "200"}, []string{"-4", "rule", "del", "fwmark", "0x1", "lookup", "200"}, "lookup 200"},
		{[]string{"-6", "rule", "add", "from", "2001:db8::/32", "lookup", "100"}, []string{"-6", "rule", "del", "from", "2001:db8::/32", "lookup", "100"}, "ipv6 rule"},
		{[]string{"-4", "route", "add", "192.0.2.0/24", "dev", "lo", "table", "100"}, []string{"-4", "route", "del", "192.0.2.0/24", "dev", "lo", "table", "100"}, "1 ipv4 route(s) in table 100"},
	} {
		runCmd(t, "ip", append([]string{"-n", ns}, c.add...)...)
		err := r.CheckFree(ctx)
		if !errors.Is(err, ErrRoutingInUse) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ip %v: CheckFree = %v, want ErrRoutingInUse naming %q", c.add, err, c.want)
		}
		runCmd(t, "ip", append([]string{"-n", ns}, c.del...)...)
	}
}

// TestRoutingVerifyMask: Verify names the missing entries; with a mask Setup adds
// `fwmark MARK/MASK`, which Verify and CheckFree accept as ftpgate's own, and the same mark
// without the mask is not.
func TestRoutingVerifyMask(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "rv")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := &Routing{Mark: 0x100, Mask: 0xff00, Table: 100, Handle: nsHandle(t, ns), Log: slog.New(slog.DiscardHandler)}
	err := r.Verify(ctx)
	if !errors.Is(err, ErrRoutingMissing) || !strings.Contains(err.Error(), "ip -6 rule add fwmark 0x100/0xff00 lookup 100") ||
		!strings.Contains(err.Error(), "ip -4 route add local default dev lo table 100") {
		t.Fatalf("Verify before Setup: %v", err)
	}
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(ctx); err != nil {
		t.Fatalf("Verify after Setup: %v", err)
	}
	if err := r.CheckFree(ctx); err != nil {
		t.Fatalf("CheckFree after Setup: %v", err)
	}
	if rules := runCmd(t, "ip", "-n", ns, "-4", "rule"); !strings.Contains(rules, "fwmark 0x100/0xff00 lookup 100") {
		t.Errorf("ip rule:\n%s", rules)
	}
	unmasked := &Routing{Mark: 0x100, Table: 100, Handle: r.Handle}
	if err := unmasked.CheckFree(ctx); !errors.Is(err, ErrRoutingInUse) {
		t.Errorf("CheckFree of the unmasked mark: %v, want ErrRoutingInUse", err)
	}
	if err := r.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(ctx); !errors.Is(err, ErrRoutingMissing) {
		t.Errorf("Verify after Teardown: %v", err)
	}
}
