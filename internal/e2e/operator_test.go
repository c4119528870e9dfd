package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// operatorRouting is the policy routing deploy/ftpgate.nft tells the operator to add.
var operatorRouting = [][]string{
	{"-4", "rule", "add", "fwmark", "0x1", "lookup", "100"},
	{"-4", "route", "add", "local", "default", "dev", "lo", "table", "100"},
	{"-6", "rule", "add", "fwmark", "0x1", "lookup", "100"},
	{"-6", "route", "add", "local", "default", "dev", "lo", "table", "100"},
}

// operatorBed is a bed whose managed gateway was stopped (its table and routing removed), so
// that the test can play the operator.
func operatorBed(t *testing.T, files map[string]int64) *bed {
	t.Helper()
	b := newBed(t, files)
	if err := b.gw.Stop(); err != nil {
		t.Fatal(err)
	}
	return b
}

// loadRuleSet loads deploy/ftpgate.nft in the gateway namespace, as /etc/nftables.conf's
// include does.
func (b *bed) loadRuleSet(t *testing.T) {
	t.Helper()
	path, err := filepath.Abs("../../deploy/ftpgate.nft")
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := b.tp.Exec(b.ctx(t), b.tp.GW, "nft", "-f", path); err != nil {
		t.Fatalf("nft -f %s: %v %s", path, err, stderr)
	}
}

// addRouting adds the operator's policy routing in the gateway namespace.
func (b *bed) addRouting(t *testing.T) {
	t.Helper()
	for _, args := range operatorRouting {
		if _, stderr, err := b.tp.Exec(b.ctx(t), b.tp.GW, "ip", args...); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, stderr)
		}
	}
}

// ruleset is `nft list ruleset` in the gateway namespace.
func (b *bed) ruleset(t *testing.T) string {
	t.Helper()
	out, stderr, err := b.tp.Exec(b.ctx(t), b.tp.GW, "nft", "list", "ruleset")
	if err != nil {
		t.Fatalf("nft list ruleset: %v %s", err, stderr)
	}
	return out
}

// smallTransfers runs curl PASV and EPSV downloads and an lftp PORT download of small.bin through
// the gateway, checks their sha256 and that each left a transfer record (it was intercepted).
func (b *bed) smallTransfers(t *testing.T, tag string) {
	t.Helper()
	ctx := b.ctx(t)
	for _, m := range []scenario.Mode{scenario.PASV, scenario.EPSV, scenario.PORT} {
		dst := filepath.Join(b.tp.Dir, tag+"-"+string(m)+".bin")
		records := len(b.gw.Records())
		var (
			tr  string
			err error
		)
		if m == scenario.PORT {
			tr, err = scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, m, "get small.bin -o "+dst)
		} else {
			tr, err = scenario.Curl(ctx, b.tp, m, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin"))
		}
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", tag, m, err, tail(tr, 20))
		}
		if sha(t, dst) != b.sums["small.bin"] {
			t.Fatalf("%s %s: checksum differs", tag, m)
		}
		if _, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return strings.HasSuffix(r.Arg, "small.bin") }); !ok || len(b.gw.Records()) <= records {
			t.Errorf("%s %s: not intercepted (no transfer record)", tag, m)
		}
	}
}

// TestOperatorRuleSet: with deploy/ftpgate.nft loaded and the routing added by the operator,
// `ftpgate run -manage-table=false` intercepts PASV, EPSV and PORT transfers (through its data
// listener: the set elements and the tproxy rules of the operator's table), its pinholes
// carry comments naming session and command, and at exit the rule set is exactly as the
// operator loaded it: no element left, nothing deleted, the routing in place.
func TestOperatorRuleSet(t *testing.T) {
	b := operatorBed(t, map[string]int64{"small.bin": small})
	b.loadRuleSet(t)
	b.addRouting(t)
	before := b.ruleset(t)
	ctx := b.ctx(t)
	// The data channels go through ftpgate (not the kernel path), so they use the sets.
	gw, err := startGateway(ctx, b.tp, "--log-level", "debug", "-manage-table=false", "-kernel-path=false", "--table-check", "200ms")
	if err != nil {
		t.Fatal(err)
	}
	b.gw = gw // stopped by newBed's cleanup too
	if len(gw.Logs("nftables table of the operator's rule set verified")) != 1 {
		t.Errorf("no verification logged:\n%s", tail(gw.LogText(), 20))
	}
	b.smallTransfers(t, "operator")

	// A session holding a PASV: its pinhole says which session and command opened it.
	hold, err := b.tp.Command(ctx, b.tp.Client, "python3", "testdata/ftpcheck.py", b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "hold", "30")
	if err != nil {
		t.Fatal(err)
	}
	out, err := hold.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { hold.Process.Kill(); hold.Wait() }()
	out.Read(make([]byte, 512)) // the passive step is done
	comment := regexp.MustCompile(`comment "session \d+ PASV"`)
	set, _, err := b.tp.Exec(ctx, b.tp.GW, "nft", "list", "set", "inet", table, "data4")
	if err != nil || !comment.MatchString(set) {
		t.Errorf("nft list set data4 during a PASV (%v) lacks the comment:\n%s", err, set)
	}
	t.Logf("data4 during a PASV:\n%s", set)
	// The operator reloads the rule set: the table is replaced with empty sets; ftpgate puts
	// its pinhole back at the next check.
	b.loadRuleSet(t)
	if !waitLogs(gw, "nftables sets lost elements (the rule set was reloaded?): re-added ftpgate's expectations", 10*time.Second) {
		t.Errorf("the reload's lost elements were not re-added:\n%s", tail(gw.LogText(), 10))
	}
	if set, _, _ := b.tp.Exec(ctx, b.tp.GW, "nft", "list", "set", "inet", table, "data4"); !comment.MatchString(set) {
		t.Errorf("after the reload, data4 lacks the pinhole:\n%s", set)
	}

	if err := gw.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if after := b.ruleset(t); after != before {
		t.Errorf("the rule set changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	rules, _, _ := b.tp.Exec(ctx, b.tp.GW, "ip", "-4", "rule")
	routes, _, _ := b.tp.Exec(ctx, b.tp.GW, "ip", "-6", "route", "show", "table", "100")
	if !strings.Contains(rules, "fwmark 0x1 lookup 100") || !strings.Contains(routes, "local default dev lo") {
		t.Errorf("the operator's routing was removed:\n%s\n%s", rules, routes)
	}
}

// TestOperatorMissing: -manage-table=false without the rule set, or without the routing,
// exits with status 3 and a message naming what is missing, and creates nothing.
func TestOperatorMissing(t *testing.T) {
	b := operatorBed(t, nil)
	ctx := b.ctx(t)
	before := b.ruleset(t)
	_, err := startGateway(ctx, b.tp, "-manage-table=false")
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "table inet ftpgate does not exist") {
		t.Fatalf("start without the table: %v, want exit status 3 naming the table", err)
	}
	if after := b.ruleset(t); after != before {
		t.Errorf("the failed start changed the rule set:\n%s", after)
	}
	b.loadRuleSet(t)
	if _, stderr, err := b.tp.Exec(ctx, b.tp.GW, "nft", "delete", "chain", "inet", table, "guard"); err != nil {
		t.Fatalf("nft delete chain: %v %s", err, stderr)
	}
	_, err = startGateway(ctx, b.tp, "-manage-table=false")
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "chain guard missing") {
		t.Fatalf("start without the guard chain: %v, want exit status 3 naming the chain", err)
	}
	b.loadRuleSet(t)
	_, err = startGateway(ctx, b.tp, "-manage-table=false")
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "ip -4 rule add fwmark 0x1 lookup 100") {
		t.Fatalf("start without the routing: %v, want exit status 3 naming the rule", err)
	}
	t.Logf("%v", err)
}

// TestOperatorTableFlushed: `nft flush ruleset` under a gateway with -manage-table=false is
// logged as an error at once (the kernel's notification, not the next -table-check, which is
// a minute here); ftpgate does not rebuild the operator's table, and once the operator
// reloads the rule set it logs that interception resumed and transfers work again.
func TestOperatorTableFlushed(t *testing.T) {
	b := operatorBed(t, map[string]int64{"small.bin": small})
	b.loadRuleSet(t)
	b.addRouting(t)
	ctx := b.ctx(t)
	gw, err := startGateway(ctx, b.tp, "--table-check", "1m", "-manage-table=false")
	if err != nil {
		t.Fatal(err)
	}
	b.gw = gw
	if _, stderr, err := b.tp.Exec(ctx, b.tp.GW, "nft", "flush", "ruleset"); err != nil {
		t.Fatalf("nft flush ruleset: %v %s", err, stderr)
	}
	lost := "nftables table lost: interception stopped; reload the operator's rule set (nft -f /etc/nftables.conf)"
	if !waitLogs(gw, lost, 5*time.Second) {
		t.Fatalf("the loss was not logged:\n%s", tail(gw.LogText(), 10))
	}
	time.Sleep(500 * time.Millisecond)
	if out := b.ruleset(t); out != "" {
		t.Errorf("ftpgate rebuilt the operator's table:\n%s", out)
	}
	b.loadRuleSet(t)
	if !waitLogs(gw, "nftables table back: interception resumed", 5*time.Second) {
		t.Fatalf("the return was not logged:\n%s", tail(gw.LogText(), 10))
	}
	b.smallTransfers(t, "reloaded")
}

// waitLogs waits up to d for a log line with msg.
func waitLogs(gw *scenario.Gateway, msg string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if len(gw.Logs(msg)) > 0 {
			return true
		}
	}
	return false
}

// TestRoutingInUse: a managed gateway refuses to start, with status 3 and a message naming
// the rule or route in the way, when someone else uses its fwmark or route table; another
// -route-table gets it going.
func TestRoutingInUse(t *testing.T) {
	b := operatorBed(t, map[string]int64{"small.bin": small})
	ctx := b.ctx(t)
	ip := func(args ...string) {
		t.Helper()
		if _, stderr, err := b.tp.Exec(ctx, b.tp.GW, "ip", args...); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, stderr)
		}
	}
	ip("-4", "rule", "add", "fwmark", "0x1", "lookup", "200")
	_, err := startGateway(ctx, b.tp)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "in use by someone else") ||
		!strings.Contains(err.Error(), "lookup 200") {
		t.Fatalf("start with a foreign fwmark rule: %v, want exit status 3 naming the rule", err)
	}
	ip("-4", "rule", "del", "fwmark", "0x1", "lookup", "200")
	ip("-4", "route", "add", "192.0.2.0/24", "dev", "lo", "table", "100")
	_, err = startGateway(ctx, b.tp)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "route(s) in table 100") {
		t.Fatalf("start with a foreign route in table 100: %v, want exit status 3 naming the table", err)
	}
	gw, err := startGateway(ctx, b.tp, "-route-table", "101")
	if err != nil {
		t.Fatalf("start with -route-table 101: %v", err)
	}
	b.gw = gw
	b.smallTransfers(t, "table101")
}

// TestMarkMask: with -mark 0x100 -mark-mask 0xff00 ftpgate sets only its bits of the packet
// mark (nft lists the statement with the mark's bits in the AND mask), the policy rule
// matches fwmark 0x100/0xff00, and transfers through ftpgate work.
func TestMarkMask(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small}, "-mark", "0x100", "-mark-mask", "0xff00", "-kernel-path=false")
	ctx := b.ctx(t)
	text, err := scenario.NftTable(ctx, b.tp, table)
	if err != nil || !strings.Contains(text, "meta mark set meta mark & 0xffff01ff | 0x00000100 accept") {
		t.Errorf("nft list table (%v) lacks the masked mark:\n%s", err, text)
	}
	for _, fam := range []string{"-4", "-6"} {
		if rules, _, _ := b.tp.Exec(ctx, b.tp.GW, "ip", fam, "rule"); !strings.Contains(rules, "fwmark 0x100/0xff00 lookup 100") {
			t.Errorf("ip %s rule lacks fwmark 0x100/0xff00:\n%s", fam, rules)
		}
	}
	b.smallTransfers(t, "masked")
}

// TestTableFlushNoticedAtOnce: `nft flush ruleset` under a managed gateway is noticed from the
// kernel's notification, well before the next -table-check (a minute here): the loss is
// logged, the table rebuilt, and the next transfer intercepted.
func TestTableFlushNoticedAtOnce(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small}, "--table-check", "1m")
	ctx := b.ctx(t)
	if _, stderr, err := b.tp.Exec(ctx, b.tp.GW, "nft", "flush", "ruleset"); err != nil {
		t.Fatalf("nft flush ruleset: %v %s", err, stderr)
	}
	if !waitLogs(b.gw, "nftables table lost: interception stopped; restoring it", 5*time.Second) ||
		!waitLogs(b.gw, "nftables table restored", 5*time.Second) {
		t.Fatalf("the flush was not noticed at once:\n%s", tail(b.gw.LogText(), 10))
	}
	if text, err := scenario.NftTable(ctx, b.tp, table); err != nil || !strings.Contains(text, "chain prerouting") {
		t.Fatalf("the table is not back (%v):\n%s", err, text)
	}
	b.smallTransfers(t, "after-flush")
}
