package e2e

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// metricsAddr is where the gateway serves its metrics, inside its own namespace.
const metricsAddr = "127.0.0.1:9121"

// TestMetrics scrapes /metrics after a download and a refused command, as a user would:
// the session, the completed download (direction and path), its bytes, its expectation and
// the policy's refusal are counted. The proxy path (-kernel-path=false) carries the bytes
// through ftpgate, so they are exact and the data connection is one of ftpgate's
// expectations.
func TestMetrics(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small}, "-kernel-path=false", "-metrics-addr", metricsAddr)
	ctx := b.ctx(t)
	if got := len(b.gw.Logs("serving metrics")); got != 1 {
		t.Errorf("%d \"serving metrics\" log lines, want 1", got)
	}
	before := b.scrape(ctx, t)
	if v := sum(before, "ftpgate_sessions_total", nil); v != 0 {
		t.Errorf("ftpgate_sessions_total before any session: %v", v)
	}
	// SITE EXEC is not in the default policy's site_commands: refused, and curl goes on (*).
	dst := filepath.Join(b.tp.Dir, "metrics.bin")
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-Q", "*SITE EXEC id", "-o", dst,
		scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("%v\n%s", err, tail(tr, 20))
	}
	if got := sha(t, dst); got != b.sums["small.bin"] {
		t.Fatalf("downloaded sha256 %s, want %s", got, b.sums["small.bin"])
	}
	if _, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" }); !ok {
		t.Fatal("no transfer record of the RETR")
	}
	fams := b.scrape(ctx, t)
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"ftpgate_sessions_total", map[string]string{"service": "default"}, 1},
		{"ftpgate_transfers_total", map[string]string{"direction": "download", "path": "proxy", "result": "complete"}, 1},
		{"ftpgate_data_bytes_total", map[string]string{"direction": "to_client"}, float64(small)},
		{"ftpgate_expectations_created_total", nil, 1},
		{"ftpgate_expectations_used_total", nil, 1},
		{"ftpgate_commands_total", map[string]string{"verdict": "reject"}, 1},
		{"ftpgate_commands_total", map[string]string{"verdict": "accept"}, 5},
		{"ftpgate_answers_total", map[string]string{"verdict": "accept"}, 5},
		{"go_goroutines", nil, 1},
		{"process_open_fds", nil, 1},
	} {
		if v := sum(fams, c.name, c.labels); v < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, v, c.min)
		}
	}
	if v := sum(fams, "ftpgate_transfers_total", map[string]string{"result": "failed"}); v != 0 {
		t.Errorf("failed transfers: %v", v)
	}
	if v := sum(fams, "ftpgate_nft_errors_total", nil); v != 0 {
		t.Errorf("nft errors: %v", v)
	}
}

// scrape fetches /metrics from inside the gateway's namespace and parses it.
func (b *bed) scrape(ctx context.Context, t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return b.tp.DialContext(ctx, b.tp.GW, network, addr)
		},
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// sum adds the values of the series of name whose labels include want (a counter's or a
// gauge's value; 0 when there is none).
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var total float64
	for _, m := range f.GetMetric() {
		if matches(m, want) {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return total
}

// matches reports whether m has every label of want.
func matches(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
