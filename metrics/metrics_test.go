package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// record feeds one of each event to m.
func record(m *Metrics) {
	m.SessionStarted("ftp")
	m.SessionStarted("")
	m.SessionEnded("")
	m.SessionRefused(RefusedLimit)
	m.Command("accept")
	m.Command("reject")
	m.Answer("change")
	m.CallbackError("command")
	m.TransferDone(Transfer{Direction: "download", Path: "proxy", Result: ResultComplete, ToClient: 100, ToServer: -1, Duration: time.Second})
	m.TransferDone(Transfer{Direction: "upload", Result: ResultFailed})
	m.HookVerdict("clamav", HookRefuse)
	m.ExpectationCreated()
	m.ExpectationCreated()
	m.ExpectationClosed()
	m.ExpectationUsed()
	m.ExpectationExpired()
	m.ExpectationRefused(ExpectFull)
	m.TLSHandshake(LegClient, ConnControl, nil)
	m.TLSHandshake(LegServer, ConnData, errors.New("boom"))
	m.VerifyFailure("expired")
	m.NftError("add")
}

func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	record(m) // must not panic
	if m.Registry() != nil {
		t.Error("a nil *Metrics has a registry")
	}
}

func TestRegistryContents(t *testing.T) {
	m := New()
	record(m)
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"ftpgate_sessions_total", `service="ftp"`, 1},
		{"ftpgate_sessions_active", `service="ftp"`, 1},
		{"ftpgate_sessions_active", `service="none"`, 0},
		{"ftpgate_sessions_refused_total", `reason="limit"`, 1},
		{"ftpgate_commands_total", `verdict="reject"`, 1},
		{"ftpgate_answers_total", `verdict="change"`, 1},
		{"ftpgate_policy_callback_errors_total", `kind="command"`, 1},
		{"ftpgate_transfers_total", `direction="download",path="proxy",result="complete"`, 1},
		{"ftpgate_transfers_total", `direction="upload",path="none",result="failed"`, 1},
		{"ftpgate_data_bytes_total", `direction="to_client"`, 100},
		{"ftpgate_data_bytes_total", `direction="to_server"`, 0},
		{"ftpgate_hook_verdicts_total", `hook="clamav",outcome="refuse"`, 1},
		{"ftpgate_expectations_open", ``, 1},
		{"ftpgate_expectations_created_total", ``, 2},
		{"ftpgate_expectations_used_total", ``, 1},
		{"ftpgate_expectations_expired_total", ``, 1},
		{"ftpgate_expectations_refused_total", `reason="full"`, 1},
		{"ftpgate_tls_handshakes_total", `conn="control",leg="client",result="ok"`, 1},
		{"ftpgate_tls_handshakes_total", `conn="data",leg="server",result="failed"`, 1},
		{"ftpgate_tls_verify_failures_total", `reason="expired"`, 1},
		{"ftpgate_nft_errors_total", `op="add"`, 1},
	} {
		if got := value(t, m, c.name, c.labels); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The Go and process collectors are in the registry too.
	n, err := testutil.GatherAndCount(m.Registry(), "go_goroutines", "process_open_fds")
	if err != nil || n != 2 {
		t.Errorf("go and process collectors: %d series, %v", n, err)
	}
}

// value gathers m and returns the value of the series name{labels} (labels in name order).
func value(t *testing.T, m *Metrics, name, labels string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if labelString(s) == labels {
				if s.GetCounter() != nil {
					return s.GetCounter().GetValue()
				}
				return s.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, labels)
	return 0
}

func labelString(s *dto.Metric) string {
	var parts []string
	for _, l := range s.GetLabel() {
		parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
	}
	return strings.Join(parts, ",")
}

func TestServe(t *testing.T) {
	m := New()
	m.SessionStarted("ftp")
	ctx, cancel := context.WithCancel(t.Context())
	ln, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln, nil) }()
	resp, err := http.Get("http://" + ln.Addr().String() + Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	if f := fams["ftpgate_sessions_total"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("ftpgate_sessions_total: %v", f)
	}
	if _, err := Listen(ctx, ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "-metrics-addr") {
		t.Errorf("a second listener on the same address: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}
