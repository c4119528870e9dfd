package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// haBed is two gateways sharing the client's and the server's routes (keepalived, VRRP)
// with their conntrack tables in sync (conntrackd), each running ftpgate.
type haBed struct {
	tp    *testbed.Topology
	srv   *testbed.FTPServer
	sums  map[string]string
	nodes [2]*testbed.HANode
	gws   [2]*scenario.Gateway
	cfg   string
}

// haConfig is the gateways' configuration: kernel path for the IPv4 server, the proxy path
// (through ftpgate) for the IPv6 server.
const haConfig = `version: 1
services:
  - name: kernel
    server_networks: [203.0.113.0/24]
    policy: kernel
  - name: proxied
    server_networks: [2001:db8:2::/64]
    policy: proxied
policies:
  kernel:
    base: readwrite
    data_path: kernel
  proxied:
    base: readwrite
    data_path: proxy
`

// newHABed builds the HA topology with vsftpd, the files, both gateways' keepalived and
// conntrackd (gateway 0 first, so it is master) and ftpgate on both.
func newHABed(t *testing.T, files map[string]int64) *haBed {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root for network namespaces, nftables and TPROXY")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tp := testbed.New(t, testbed.Options{HA: true})
	srv, err := tp.StartVsftpd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := &haBed{tp: tp, srv: srv, sums: map[string]string{}, cfg: filepath.Join(tp.Dir, "ha.yaml")}
	if err := os.WriteFile(b.cfg, []byte(haConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, size := range files {
		if b.sums[name], err = srv.MakeFile(name, size); err != nil {
			t.Fatal(err)
		}
	}
	notify, err := filepath.Abs("../../deploy/ha/ftpgate-ha-notify")
	if err != nil {
		t.Fatal(err)
	}
	for i, prio := range []int{150, 100} {
		if b.nodes[i], err = tp.StartHANode(ctx, i, prio, notify); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			b.waitMaster(t, 0, 10*time.Second)
		}
	}
	for i := range b.gws {
		b.startGateway(t, ctx, i)
	}
	t.Cleanup(func() {
		for i, g := range b.gws {
			if t.Failed() && g != nil {
				t.Logf("gateway %d log:\n%s", i, tail(g.LogText(), 60))
			}
			if g != nil {
				g.Stop()
			}
		}
	})
	return b
}

// startGateway starts ftpgate on gateway i.
func (b *haBed) startGateway(t *testing.T, ctx context.Context, i int) {
	t.Helper()
	g, err := scenario.StartGatewayIn(ctx, b.tp, b.tp.Gateways()[i], gatewayBin, "--log-level", "debug", "-c", b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.gws[i] = g
}

// waitMaster waits up to limit for gateway i to hold the shared addresses and returns how
// long it took.
func (b *haBed) waitMaster(t *testing.T, i int, limit time.Duration) time.Duration {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	for time.Since(start) < limit {
		if b.nodes[i].Master(ctx, b.tp) {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(b.nodes[i].Keepalived.Log)
	t.Fatalf("gateway %d did not become master in %v:\n%s", i, limit, tail(string(log), 30))
	return 0
}

// killMaster kills gateway 0 as a crash would: SIGKILL to ftpgate, keepalived and
// conntrackd, and its links down. It returns when it was killed.
func (b *haBed) killMaster(t *testing.T) time.Time {
	t.Helper()
	if err := syscall.Kill(gatewayPID(t, b.gws[0].Proc), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := b.nodes[0].Kill(context.Background(), b.tp); err != nil {
		t.Fatal(err)
	}
	<-b.gws[0].Proc.Done()
	b.gws[0] = nil
	return killed
}

// waitSize waits up to limit for path to hold at least n bytes.
func waitSize(t *testing.T, path string, n int64, limit time.Duration) {
	t.Helper()
	for start := time.Now(); time.Since(start) < limit; time.Sleep(20 * time.Millisecond) {
		if st, err := os.Stat(path); err == nil && st.Size() >= n {
			return
		}
	}
	t.Fatalf("%s did not reach %d bytes in %v", path, n, limit)
}

// TestFailover: two gateways, one address. The master dies (SIGKILL of ftpgate and
// keepalived, links down) during a 256 MiB kernel path download: the data connection goes
// on through the backup (its conntrack entry is there already) and the file arrives whole.
// A download through ftpgate (the proxy path) dies with the master's ftpgate; lftp
// reconnects through the backup and resumes with REST, and the file is whole. A new session
// right after the failover works. The master comes back and stays backup (nopreempt): the
// session the backup holds goes on.
func TestFailover(t *testing.T) {
	needKernelPath(t)
	const big = 256 << 20
	b := newHABed(t, map[string]int64{"big.bin": big, "mid.bin": 64 << 20, "small.bin": small})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The kernel path download, about 4 s at 64 MiB/s; curl's control connection dies with
	// the master's ftpgate, so curl is stopped once the bytes are there.
	kdst := filepath.Join(b.tp.Dir, "kernel-big.bin")
	kc, err := b.tp.Command(ctx, b.tp.Client, "curl", "-sS", "--limit-rate", "64M", "--epsv", "-o", kdst,
		scenario.URL(b.srv, b.tp.ServerV4, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// The proxied download through ftpgate, about 8 s at 8 MiB/s; lftp retries quickly.
	pdst := filepath.Join(b.tp.Dir, "proxied-mid.bin")
	script := fmt.Sprintf("set ftp:ssl-allow no; set net:limit-rate 8M; set net:max-retries 10; set net:timeout 5; "+
		"set net:reconnect-interval-base 1; set net:reconnect-interval-max 1; set cmd:fail-exit yes; get mid.bin -o %s; bye", pdst)
	pc, err := b.tp.Command(ctx, b.tp.Client, "lftp", "-d", "-u", b.srv.User+","+b.srv.Pass, "-e", script, b.tp.ServerV6.String())
	if err != nil {
		t.Fatal(err)
	}
	lftpLog := filepath.Join(b.tp.Dir, "lftp-failover.log")
	lf, err := os.Create(lftpLog)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	pc.Stdout, pc.Stderr = lf, lf
	for _, c := range []*exec.Cmd{kc, pc} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- pc.Wait() }()
	defer func() { kc.Process.Kill(); pc.Process.Kill() }()
	waitSize(t, kdst, 64<<20, 30*time.Second)
	waitSize(t, pdst, 8<<20, 30*time.Second)

	killed := b.killMaster(t)
	took := b.waitMaster(t, 1, 10*time.Second)
	t.Logf("failover: the backup held the shared addresses %v after the kill", took.Round(10*time.Millisecond))

	// A new session right after the failover.
	sdst := filepath.Join(b.tp.Dir, "after-failover.bin")
	for i := 0; ; i++ {
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := scenario.Curl(sctx, b.tp, scenario.EPSV, "--max-time", "4", "-o", sdst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin"))
		scancel()
		if err == nil && sha(t, sdst) == b.sums["small.bin"] {
			break
		}
		if i == 100 {
			t.Fatalf("no new session through the backup 30 s after the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("failover: a new session completed %v after the kill", time.Since(killed).Round(10*time.Millisecond))

	waitSize(t, kdst, big, 60*time.Second)
	if sha(t, kdst) != b.sums["big.bin"] {
		t.Errorf("the kernel path download is not whole after the failover")
	}
	t.Logf("failover: the kernel path download (256 MiB) completed %v after the kill", time.Since(killed).Round(10*time.Millisecond))

	select {
	case err := <-done:
		if err != nil {
			log, _ := os.ReadFile(lftpLog)
			t.Fatalf("lftp did not complete the proxied download after the failover: %v\n%s", err, tail(string(log), 40))
		}
	case <-time.After(90 * time.Second):
		t.Fatal("lftp still runs 90 s after the failover")
	}
	if sha(t, pdst) != b.sums["mid.bin"] {
		t.Errorf("the proxied download is not whole after lftp resumed it")
	}
	if log, _ := os.ReadFile(lftpLog); !strings.Contains(string(log), "---> REST ") {
		t.Errorf("lftp did not resume with REST:\n%s", tail(string(log), 40))
	}
	t.Logf("failover: lftp completed the proxied download by resuming %v after the kill", time.Since(killed).Round(10*time.Millisecond))

	// Failback: a session runs through the new master while the old one comes back.
	fdst := filepath.Join(b.tp.Dir, "during-failback.bin")
	fc, err := b.tp.Command(ctx, b.tp.Client, "curl", "-sS", "--limit-rate", "16M", "--epsv", "-o", fdst,
		scenario.URL(b.srv, b.tp.ServerV6, "mid.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Start(); err != nil {
		t.Fatal(err)
	}
	waitSize(t, fdst, 4<<20, 30*time.Second)
	if err := b.tp.LinksUp(ctx, b.tp.GW); err != nil {
		t.Fatal(err)
	}
	notify, _ := filepath.Abs("../../deploy/ha/ftpgate-ha-notify")
	if b.nodes[0], err = b.tp.StartHANode(ctx, 0, 150, notify); err != nil {
		t.Fatal(err)
	}
	b.startGateway(t, ctx, 0)
	if err := fc.Wait(); err != nil {
		t.Fatalf("the session through the backup broke when the master came back: %v", err)
	}
	if sha(t, fdst) != b.sums["mid.bin"] {
		t.Error("the download through the backup is not whole after the master came back")
	}
	if b.nodes[0].Master(ctx, b.tp) || !b.nodes[1].Master(ctx, b.tp) {
		t.Error("the returning gateway took the shared addresses back (nopreempt)")
	}
}
