package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// gatewayPID returns the PID of the ftpgate process below the test bed's reaper p.
func gatewayPID(t *testing.T, p *testbed.Proc) int {
	t.Helper()
	child, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.Pid(), p.Pid()))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(child)))
	if err != nil || pid <= 0 {
		t.Fatalf("find the gateway below its reaper: %q, %v", child, err)
	}
	return pid
}

// TestKill9: ftpgate killed with SIGKILL during 20 transfers leaves no element beyond its
// timeout; a restart rebuilds the table at once and serves; after a clean stop nothing of
// ftpgate is left on the box.
func TestKill9(t *testing.T) {
	b := newBed(t, map[string]int64{"big.bin": 32 << 20, "small.bin": small})
	if err := b.gw.Stop(); err != nil { // this test runs, and kills, its own gateway
		t.Fatal(err)
	}
	ctx := b.ctx(t)
	// The proxy path: the test watches its nftables elements.
	gw, err := startGateway(ctx, b.tp, "--log-level", "debug", "--expect-timeout", "3s", "-kernel-path=false")
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Stop()

	// 20 slow transfers and one session holding an expectation nobody uses.
	var cmds []*exec.Cmd
	for i := 0; i < 20; i++ {
		mode := "--disable-epsv"
		if i%2 == 0 {
			mode = "--epsv"
		}
		c, err := b.tp.Command(ctx, b.tp.Client, "curl", "-s", "--limit-rate", "256k", mode, "-o", "/dev/null",
			scenario.URL(b.srv, b.tp.ServerV4, "big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	hold, err := b.tp.Command(ctx, b.tp.Client, "python3", "testdata/ftpcheck.py", b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "hold", "30")
	if err != nil {
		t.Fatal(err)
	}
	holdOut, err := hold.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmds = append(cmds, hold)
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}()
	// The held session's passive step is done when it prints its first line.
	line := make([]byte, 512)
	holdOut.Read(line)
	running := false
	for i := 0; i < 200 && !running; i++ { // at most 10 s
		els, _ := scenario.Elements(ctx, b.tp, table)
		running = len(gw.Logs("data connection claimed")) >= 20 && len(els) >= 1
		time.Sleep(50 * time.Millisecond)
	}
	if !running {
		t.Fatalf("the transfers and the held expectation did not start:\n%s", tail(gw.LogText(), 20))
	}
	before, _ := scenario.Elements(ctx, b.tp, table)
	t.Logf("elements at the kill: %v", before)
	killed := time.Now()
	if err := syscall.Kill(gatewayPID(t, gw.Proc), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-gw.Proc.Done()

	// The table stays (nobody removed it), but every element expires on its own.
	gone := false
	for i := 0; i < 100 && !gone; i++ { // at most 10 s; the timeout is 3 s
		els, err := scenario.Elements(ctx, b.tp, table)
		gone = err == nil && len(els) == 0
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("elements gone %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	if !gone {
		els, err := scenario.Elements(ctx, b.tp, table)
		t.Fatalf("elements outlived their timeout after kill -9: %v %v", els, err)
	}

	b.restartAfterKill(t, ctx)
	tables, rules := b.gwState(t)
	if strings.Contains(tables, "table inet "+table) || strings.Contains(rules, "fwmark") {
		t.Errorf("after the clean stop something of ftpgate remains:\n%s\n%s", tables, rules)
	}
}

// restartAfterKill starts a gateway with args where a killed one left its table, moves
// small.bin through it and stops it cleanly.
func (b *bed) restartAfterKill(t *testing.T, ctx context.Context, args ...string) {
	t.Helper()
	restarted, err := startGateway(ctx, b.tp, args...)
	if err != nil {
		t.Fatalf("restart after kill -9: %v", err)
	}
	dst := b.tp.Dir + "/after-kill.bin"
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("transfer after the restart: %v\n%s", err, tail(tr, 20))
	}
	if sha(t, dst) != b.sums["small.bin"] {
		t.Fatal("checksum differs")
	}
	if err := restarted.Stop(); err != nil {
		t.Fatalf("stop after the restart: %v", err)
	}
}

// kernelMasters returns the conntrack entries in gw that carry the kernel path's mark
// (0x46xxxxxx): the masters ftpgate creates for its pinholes, and their connections.
func (b *bed) kernelMasters(t *testing.T) []string {
	t.Helper()
	out, _, err := b.tp.Exec(b.ctx(t), b.tp.GW, "cat", "/proc/net/nf_conntrack")
	if err != nil {
		t.Fatalf("read the conntrack table: %v", err)
	}
	var found []string
	for _, l := range strings.Split(out, "\n") {
		for _, f := range strings.Fields(l) {
			if m, ok := strings.CutPrefix(f, "mark="); ok {
				if v, err := strconv.ParseUint(m, 10, 32); err == nil && v&0xff000000 == 0x46000000 {
					found = append(found, l)
				}
			}
		}
	}
	return found
}

// TestKill9Kernel: ftpgate killed with SIGKILL while a session holds a kernel-path pinhole
// leaves nothing open beyond the pinhole's timeout: the expectation expires in the kernel,
// and so does its master.
func TestKill9Kernel(t *testing.T) {
	needKernelPath(t)
	b := newBed(t, map[string]int64{"small.bin": small})
	if err := b.gw.Stop(); err != nil { // this test runs, and kills, its own gateway
		t.Fatal(err)
	}
	ctx := b.ctx(t)
	gw, err := startGateway(ctx, b.tp, "--expect-timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Stop()
	sc, wait := b.hold(t, b.tp.ServerV4.String(), 10)
	defer wait()
	if !sc.Scan() || !strings.Contains(sc.Text(), "assive Mode") {
		t.Fatalf("passive reply: %s", sc.Text())
	}
	if ex, ms := b.expectations(t), b.kernelMasters(t); len(ex) != 1 || len(ms) != 1 {
		t.Fatalf("before the kill: expectations %q, masters %q; want one of each", ex, ms)
	}
	killed := time.Now()
	if err := syscall.Kill(gatewayPID(t, gw.Proc), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-gw.Proc.Done()
	// The expectation's timeout is 3 s; its master lives 5 s longer.
	var ex, ms []string
	for i := 0; i < 150; i++ { // at most 15 s
		if ex, ms = b.expectations(t), b.kernelMasters(t); len(ex)+len(ms) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("pinhole gone %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	if len(ex)+len(ms) != 0 {
		t.Fatalf("after kill -9 the kernel path left expectations %q and masters %q", ex, ms)
	}
}
