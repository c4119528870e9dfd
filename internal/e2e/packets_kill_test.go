package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// TestPacketFilterStopped: ftpgate killed (SIGKILL) while two kernel path downloads pass
// its packet filter. Nobody reads the queues any more: the fail-open policy's download
// (queue_bypass: true, the IPv6 server) goes on and arrives whole; the fail-closed one's
// (the IPv4 server) stops at once, and curl gives up on it. A restart rebuilds the table.
func TestPacketFilterStopped(t *testing.T) {
	needKernelPath(t)
	const size = 48 << 20
	b := newBed(t, map[string]int64{"big.bin": size, "small.bin": small})
	if err := b.gw.Stop(); err != nil { // this test runs, and kills, its own gateway
		t.Fatal(err)
	}
	ctx := b.ctx(t)
	cfg := packetConfig(t, b.tp)
	gw, err := startGateway(ctx, b.tp, "--log-level", "debug", "-c", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", tail(gw.LogText(), 60))
		}
	}()
	type run struct {
		name string
		dst  string
		cmd  *exec.Cmd
		done chan error
	}
	var runs []*run
	for _, open := range []bool{true, false} {
		r := &run{name: "closed", done: make(chan error, 1)}
		addr := b.tp.ServerV4
		if open {
			r.name, addr = "open", b.tp.ServerV6
		}
		r.dst = filepath.Join(b.tp.Dir, r.name+"-stopped.bin")
		// 4 MB/s: about 12 s in all; curl gives up after 5 s without a byte.
		c, err := b.tp.Command(ctx, b.tp.Client, "curl", "-s", "-S", "--limit-rate", "4M", "--speed-limit", "1",
			"--speed-time", "5", "--epsv", "-o", r.dst, scenario.URL(b.srv, addr, "big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		r.cmd = c
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { r.done <- c.Wait() }()
		runs = append(runs, r)
	}
	defer func() {
		for _, r := range runs {
			r.cmd.Process.Kill()
		}
	}()
	// Kill once both have 4 MiB or more.
	for i := 0; ; i++ {
		ready := true
		for _, r := range runs {
			if st, err := os.Stat(r.dst); err != nil || st.Size() < 4<<20 {
				ready = false
			}
		}
		if ready {
			break
		}
		if i == 300 { // 30 s
			t.Fatalf("the downloads did not start:\n%s", tail(gw.LogText(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := syscall.Kill(gatewayPID(t, gw.Proc), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-gw.Proc.Done()
	for _, r := range runs {
		var err error
		select {
		case err = <-r.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s: curl still runs a minute after the kill", r.name)
		}
		st, _ := os.Stat(r.dst)
		t.Logf("%s: curl ended %s after the kill (%v) with %d of %d bytes", r.name,
			time.Since(killed).Round(100*time.Millisecond), err, st.Size(), size)
		if r.name == "open" {
			// The data connection passes whole; the control connection died with ftpgate,
			// so curl may still report an error for the final reply.
			if st.Size() != size || sha(t, r.dst) != b.sums["big.bin"] {
				t.Errorf("fail-open: the download did not finish intact after ftpgate stopped (%d bytes)", st.Size())
			}
			continue
		}
		if err == nil || st.Size() >= size {
			t.Errorf("fail-closed: the download went on after ftpgate stopped: %v, %d bytes", err, st.Size())
		}
	}
	b.restartAfterKill(t, ctx, "-c", cfg)
	if tables, _ := b.gwState(t); strings.Contains(tables, "ftpgate") {
		t.Errorf("after the clean stop a table remains:\n%s", tables)
	}
}
