package testbed

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// notifyScript is the shipped keepalived notify script.
func notifyScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../deploy/ha/ftpgate-ha-notify")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitMaster waits up to 10 s for node n to hold the shared addresses and returns how long
// it took.
func waitMaster(t *testing.T, ctx context.Context, tp *Topology, n *HANode) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if n.Master(ctx, tp) {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(n.Keepalived.Log)
	t.Fatalf("%s did not become master:\n%s", n.NS, b)
	return 0
}

// TestHATopology: the HA bed's two gateways share the client's and the server's route with
// keepalived: the first becomes master, the client reaches the server through it, and when
// it dies the second takes the addresses over and the client reaches the server again.
func TestHATopology(t *testing.T) {
	needTools(t, "keepalived", "conntrackd")
	tp := New(t, Options{HA: true, Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := tp.StartHANode(ctx, 0, 150, notifyScript(t))
	if err != nil {
		t.Fatal(err)
	}
	waitMaster(t, ctx, tp, a)
	b, err := tp.StartHANode(ctx, 1, 100, notifyScript(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tp.Listen(ctx, tp.Server, "tcp", netip.AddrPortFrom(tp.ServerV4, 7000).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := func() error {
		dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
		defer dcancel()
		c, err := tp.DialContext(dctx, tp.Client, "tcp", netip.AddrPortFrom(tp.ServerV4, 7000).String())
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("through the master: %v", err)
	}
	killed := time.Now()
	if err := a.Kill(ctx, tp); err != nil {
		t.Fatal(err)
	}
	took := waitMaster(t, ctx, tp, b)
	t.Logf("the backup held the addresses %v after the master's death", took.Round(10*time.Millisecond))
	for i := 0; ; i++ {
		if err := dial(); err == nil {
			break
		} else if i == 50 {
			t.Fatalf("through the new master: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("a new connection got through %v after the kill", time.Since(killed).Round(10*time.Millisecond))
}
