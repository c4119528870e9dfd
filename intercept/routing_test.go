package intercept

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// countLines counts the lines of out that contain want.
func countLines(out, want string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, want) {
			n++
		}
	}
	return n
}

// checkRouting asserts what `ip` shows in ns: n fwmark rules and n local default routes per
// family.
func checkRouting(t *testing.T, ns string, n int) {
	t.Helper()
	for _, fam := range []string{"-4", "-6"} {
		rules := runCmd(t, "ip", "-n", ns, fam, "rule", "list")
		if got := countLines(rules, "fwmark 0x1 lookup 100"); got != n {
			t.Errorf("ip %s rule list: %d lines with `fwmark 0x1 lookup 100`, want %d:\n%s", fam, got, n, rules)
		}
		routes, err := tryCmd("ip", "-n", ns, fam, "route", "show", "table", "100")
		if err != nil && !strings.Contains(routes, "FIB table does not exist") {
			t.Fatalf("ip %s route show table 100: %v\n%s", fam, err, routes)
		}
		if got := countLines(routes, "local default dev lo"); got != n {
			t.Errorf("ip %s route show table 100: %d lines with `local default dev lo`, want %d:\n%s", fam, got, n, routes)
		}
	}
}

func TestRoutingSetupTeardown(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "rt")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := &Routing{Mark: 1, Table: 100, Handle: nsHandle(t, ns), Log: slog.New(slog.DiscardHandler)}

	// A rule and a route that only look similar must survive Teardown.
	runCmd(t, "ip", "-n", ns, "rule", "add", "fwmark", "0x1", "lookup", "101")
	runCmd(t, "ip", "-n", ns, "rule", "add", "fwmark", "0x2", "lookup", "100")
	runCmd(t, "ip", "-n", ns, "route", "add", "local", "198.51.100.0/24", "dev", "lo", "table", "100")

	if ok, err := r.Present(ctx); err != nil || ok {
		t.Fatalf("Present before Setup = %v, %v; want false, nil", ok, err)
	}
	for i := range 2 {
		if err := r.Setup(ctx); err != nil {
			t.Fatalf("Setup #%d: %v", i+1, err)
		}
	}
	checkRouting(t, ns, 1)
	if ok, err := r.Present(ctx); err != nil || !ok {
		t.Fatalf("Present after Setup = %v, %v; want true, nil", ok, err)
	}

	// Half the setup missing: Present is false and Setup repairs it.
	runCmd(t, "ip", "-n", ns, "-6", "route", "del", "local", "::/0", "dev", "lo", "table", "100")
	if ok, err := r.Present(ctx); err != nil || ok {
		t.Fatalf("Present without the IPv6 route = %v, %v; want false, nil", ok, err)
	}
	if err := r.Setup(ctx); err != nil {
		t.Fatalf("Setup (repair): %v", err)
	}
	checkRouting(t, ns, 1)

	for i := range 2 {
		if err := r.Teardown(ctx); err != nil {
			t.Fatalf("Teardown #%d: %v", i+1, err)
		}
	}
	checkRouting(t, ns, 0)
	if ok, err := r.Present(ctx); err != nil || ok {
		t.Fatalf("Present after Teardown = %v, %v; want false, nil", ok, err)
	}

	rules := runCmd(t, "ip", "-n", ns, "rule", "list")
	for _, want := range []string{"fwmark 0x1 lookup 101", "fwmark 0x2 lookup 100"} {
		if !strings.Contains(rules, want) {
			t.Errorf("Teardown removed the unrelated rule %q:\n%s", want, rules)
		}
	}
	if routes := runCmd(t, "ip", "-n", ns, "route", "show", "table", "100"); !strings.Contains(routes, "local 198.51.100.0/24 dev lo") {
		t.Errorf("Teardown removed the unrelated route:\n%s", routes)
	}
}

func TestRoutingValidation(t *testing.T) {
	ctx := context.Background()
	for _, r := range []*Routing{
		{Mark: 0, Table: 100},
		{Mark: 1, Table: 0},
		{Mark: 1, Table: 253},
		{Mark: 1, Table: 254},
		{Mark: 1, Table: 255},
		{Mark: 1, Table: -1},
	} {
		if err := r.Setup(ctx); err == nil {
			t.Errorf("Setup(mark %d, table %d): want error", r.Mark, r.Table)
		}
		if err := r.Teardown(ctx); err == nil {
			t.Errorf("Teardown(mark %d, table %d): want error", r.Mark, r.Table)
		}
		if _, err := r.Present(ctx); err == nil {
			t.Errorf("Present(mark %d, table %d): want error", r.Mark, r.Table)
		}
	}
}

func TestRoutingCanceledContext(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "rtctx")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &Routing{Mark: 1, Table: 100, Handle: nsHandle(t, ns)}
	if err := r.Setup(ctx); err == nil {
		t.Fatal("Setup with canceled context: want error")
	}
	checkRouting(t, ns, 0)
}

// TestRoutingNilHandle checks that a nil Handle means the calling thread's namespace.
func TestRoutingNilHandle(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "rtnil")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := &Routing{Mark: 1, Table: 100}
	inNS(t, ns, func() error { return r.Setup(ctx) })
	checkRouting(t, ns, 1)
	var present bool
	inNS(t, ns, func() (err error) {
		present, err = r.Present(ctx)
		return err
	})
	if !present {
		t.Error("Present in the namespace = false after Setup, want true")
	}
	inNS(t, ns, func() error { return r.Teardown(ctx) })
	checkRouting(t, ns, 0)
}
