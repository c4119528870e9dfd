package e2e

import (
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
	gw, err := scenario.StartGateway(ctx, b.tp, gatewayBin, "--log-level", "debug", "--expect-timeout", "3s", "-kernel-path=false")
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

	restarted, err := scenario.StartGateway(ctx, b.tp, gatewayBin)
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
	tables, rules := b.gwState(t)
	if strings.Contains(tables, "table inet "+table) || strings.Contains(rules, "fwmark") {
		t.Errorf("after the clean stop something of ftpgate remains:\n%s\n%s", tables, rules)
	}
}
