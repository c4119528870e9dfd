package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// TestFTPSSecondServer: FTPS through the gateway to pure-ftpd, passive and active.
func TestFTPSSecondServer(t *testing.T) {
	dir := t.TempDir()
	serverPKI, err := testbed.NewPKI(filepath.Join(dir, "server-pki"))
	if err != nil {
		t.Fatal(err)
	}
	gwPKI, err := testbed.NewPKI(filepath.Join(dir, "gateway-pki"))
	if err != nil {
		t.Fatal(err)
	}
	servers := []netip.Addr{netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("2001:db8:2::2")}
	scert, skey, err := serverPKI.Issue("pure-ftpd", nil, servers)
	if err != nil {
		t.Fatal(err)
	}
	gcert, gkey, err := gwPKI.Issue("gateway", nil, servers)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ftpgate.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 1\nservices:\n  - name: all\n    policy: p\npolicies:\n  p:\n    base: readwrite\n    tls:\n      certificate: {cert: %s, key: %s}\n      verify: ca\n      ca_file: %s\n",
		gcert, gkey, serverPKI.CACert)), 0o644)
	start := func(tp *testbed.Topology, ctx context.Context) (*testbed.FTPServer, error) {
		return tp.StartPureFTPd(ctx, testbed.PureOptions{TLS: &testbed.TLSOptions{CertFile: scert, KeyFile: skey, ForceTLS: true}})
	}
	b := newBedWith(t, start, map[string]int64{"small.bin": small}, "-c", cfg)
	for _, c := range []struct {
		addr netip.Addr
		m    scenario.Mode
	}{{b.tp.ServerV4, scenario.PASV}, {b.tp.ServerV4, scenario.PORT}, {b.tp.ServerV6, scenario.EPSV}, {b.tp.ServerV6, scenario.EPRT}} {
		dst := filepath.Join(b.tp.Dir, fmt.Sprintf("pure-tls-%s-%s", c.addr, c.m))
		if tr, err := scenario.LftpTLSVerify(b.ctx(t), b.tp, b.srv, c.addr, c.m, gwPKI.CACert, "get small.bin -o "+dst); err != nil {
			t.Fatalf("%s %s: %v\n%s", c.addr, c.m, err, tail(tr, 30))
		}
		if sha(t, dst) != b.sums["small.bin"] {
			t.Fatalf("%s %s: checksum differs", c.addr, c.m)
		}
	}
}

// replyTo returns the reply line (without "< ") that follows the command in a curl -v
// transcript, or "".
