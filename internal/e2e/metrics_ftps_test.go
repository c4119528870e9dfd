package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// TestMetricsFTPS: an FTPS download counts a good handshake on each leg of the control and
// the data connection; a server that the policy's CA does not vouch for counts a failed
// server-leg handshake and its verification failure's reason.
func TestMetricsFTPS(t *testing.T) {
	fb := newFTPSBed(t, testbed.TLSOptions{RequireReuse: true}, map[string]int64{"small.bin": small}, "-metrics-addr", metricsAddr)
	b := fb.bed
	ctx := b.ctx(t)
	dst := filepath.Join(b.tp.Dir, "metrics-tls.bin")
	if tr, err := scenario.CurlTLSVerify(ctx, b.tp, scenario.EPSV, fb.gwPKI.CACert, "-o", dst,
		scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("FTPS RETR: %v\n%s", err, tail(tr, 30))
	}
	if _, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" }); !ok {
		t.Fatal("no transfer record of the RETR")
	}
	fams := b.scrape(ctx, t)
	for _, leg := range []string{"client", "server"} {
		for _, conn := range []string{"control", "data"} {
			if v := sum(fams, "ftpgate_tls_handshakes_total", map[string]string{"leg": leg, "conn": conn, "result": "ok"}); v < 1 {
				t.Errorf("good TLS handshakes on the %s leg's %s connection: %v", leg, conn, v)
			}
		}
	}
	if v := sum(fams, "ftpgate_tls_handshakes_total", map[string]string{"result": "failed"}); v != 0 {
		t.Errorf("failed TLS handshakes: %v", v)
	}
	if v := sum(fams, "ftpgate_transfers_total", map[string]string{"direction": "download", "path": "proxy", "result": "complete"}); v != 1 {
		t.Errorf("complete FTPS downloads: %v", v)
	}

	// The gateway's own CA does not vouch for the server.
	fb.tlsPolicy(t, fmt.Sprintf("      certificate: {cert: %s, key: %s}\n      verify: ca\n      ca_file: %s\n",
		fb.gwCert, fb.gwKey, fb.gwPKI.CACert))
	if tr, err := scenario.CurlTLSVerify(ctx, b.tp, scenario.EPSV, fb.gwPKI.CACert, "-o", dst,
		scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err == nil {
		t.Fatalf("FTPS RETR from an untrusted server passed:\n%s", tail(tr, 20))
	}
	fams = b.scrape(ctx, t)
	if v := sum(fams, "ftpgate_tls_handshakes_total", map[string]string{"leg": "server", "conn": "control", "result": "failed"}); v != 1 {
		t.Errorf("failed server-leg handshakes: %v, want 1", v)
	}
	if v := sum(fams, "ftpgate_tls_verify_failures_total", map[string]string{"reason": "unknown authority"}); v != 1 {
		t.Errorf("verification failures (unknown authority): %v, want 1", v)
	}
}
