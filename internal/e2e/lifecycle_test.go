package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// gwState returns what an operator checks on the gateway: the nft tables, the IPv4 and IPv6
// rules and the local routes of table 100.
func (b *bed) gwState(t *testing.T) (tables, rules string) {
	t.Helper()
	ctx := b.ctx(t)
	tables, _, err := b.tp.Exec(ctx, b.tp.GW, "nft", "list", "tables")
	if err != nil {
		t.Fatal(err)
	}
	r4, _, err := b.tp.Exec(ctx, b.tp.GW, "ip", "-4", "rule", "list")
	if err != nil {
		t.Fatal(err)
	}
	r6, _, err := b.tp.Exec(ctx, b.tp.GW, "ip", "-6", "rule", "list")
	if err != nil {
		t.Fatal(err)
	}
	return tables, r4 + r6
}

// TestLifecycle checks that the gateway installs its table and routing at start and removes
// both at SIGTERM, also with a session and an expectation open at that moment.
func TestLifecycle(t *testing.T) {
	b := newBed(t, nil, "-kernel-path=false") // the proxy path: the test watches its nftables elements
	tables, rules := b.gwState(t)
	if !strings.Contains(tables, "table inet "+table) {
		t.Fatalf("running: no table inet %s:\n%s", table, tables)
	}
	if n := strings.Count(rules, "fwmark 0x1 lookup 100"); n != 2 {
		t.Fatalf("running: %d fwmark rules, want one per family:\n%s", n, rules)
	}

	// A session holding an expectation while the gateway stops.
	ctx := b.ctx(t)
	script := "testdata/ftpcheck.py"
	cmd, err := b.tp.Command(ctx, b.tp.Client, "python3", script, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "hold", "20")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	buf := make([]byte, 4096)
	out.Read(buf) // the passive step: the expectation exists now
	if els, _ := scenario.Elements(ctx, b.tp, table); len(els) != 1 {
		t.Fatalf("elements before stop: %v", els)
	}

	start := time.Now()
	if err := b.gw.Stop(); err != nil {
		t.Fatalf("gateway stop: %v\n%s", err, tail(b.gw.LogText(), 20))
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("gateway needed %s to stop with a session open", d)
	}
	if len(b.gw.Logs("ftpgate stopped")) != 1 {
		t.Errorf("no clean 'ftpgate stopped' record:\n%s", tail(b.gw.LogText(), 10))
	}
	tables, rules = b.gwState(t)
	if strings.Contains(tables, "ftpgate") {
		t.Errorf("after stop the table remains:\n%s", tables)
	}
	if strings.Contains(rules, "fwmark") {
		t.Errorf("after stop a fwmark rule remains:\n%s", rules)
	}
	routes, _, _ := b.tp.Exec(ctx, b.tp.GW, "ip", "-6", "route", "show", "table", "100")
	if strings.Contains(routes, "local") {
		t.Errorf("after stop the local route remains: %s", routes)
	}
	if len(b.gw.Logs("session ended")) != 1 {
		t.Errorf("the open session was not ended by the stop:\n%s", tail(b.gw.LogText(), 10))
	}
}

// TestWithoutPrivileges runs the binary without CAP_NET_ADMIN: one clear line, exit code 3,
// and nothing changed (it stops before touching the kernel, so it is safe in any namespace).
func TestWithoutPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root to drop privileges with setpriv")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", gatewayBin, "run")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want code 3; stderr %q", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "CAP_NET_ADMIN") {
		t.Fatalf("stderr %q, want one line naming CAP_NET_ADMIN", stderr.String())
	}
}

// TestSecondInstance: an ftpgate started by mistake next to a running one fails on its
// listeners and leaves the running one's table alone.
func TestSecondInstance(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small})
	ctx := b.ctx(t)
	_, stderr, err := b.tp.Exec(ctx, b.tp.GW, gatewayBin, "run")
	if err == nil || !strings.Contains(stderr, "another ftpgate") {
		t.Fatalf("second instance: err %v, stderr %q", err, stderr)
	}
	tables, rules := b.gwState(t)
	if !strings.Contains(tables, "table inet "+table) || !strings.Contains(rules, "fwmark 0x1 lookup 100") {
		t.Fatalf("the running gateway lost its table or rule:\n%s\n%s", tables, rules)
	}
	dst := b.tp.Dir + "/after-second.bin"
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("transfer after the second start: %v\n%s", err, tail(tr, 20))
	}
	if got := sha(t, dst); got != b.sums["small.bin"] {
		t.Fatalf("sha256 %s, want %s", got, b.sums["small.bin"])
	}
}
