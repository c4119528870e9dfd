package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are ftpgate's metrics in their own registry. A nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry

	sessionsActive  *prometheus.GaugeVec
	sessionsTotal   *prometheus.CounterVec
	sessionsRefused *prometheus.CounterVec
	commands        *prometheus.CounterVec
	answers         *prometheus.CounterVec
	callbackErrors  *prometheus.CounterVec
	transfers       *prometheus.CounterVec
	transferSeconds *prometheus.HistogramVec
	bytes           *prometheus.CounterVec
	expectOpen      prometheus.Gauge
	expectCreated   prometheus.Counter
	expectUsed      prometheus.Counter
	expectExpired   prometheus.Counter
	expectRefused   *prometheus.CounterVec
	handshakes      *prometheus.CounterVec
	verifyFailures  *prometheus.CounterVec
	hookVerdicts    *prometheus.CounterVec
	nftErrors       *prometheus.CounterVec

	packetsOnce sync.Once
	packets     *Packets // the packet filter's, registered on first use (Packets)
}

// New returns ftpgate's metrics, registered in a new registry with the Go and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sessionsActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ftpgate_sessions_active",
			Help: "Control sessions running now, by service."}, []string{"service"}),
		sessionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_sessions_total",
			Help: "Control sessions started, by service."}, []string{"service"}),
		sessionsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_sessions_refused_total",
			Help: "Control connections refused with 421 before a session started, by reason (limit, client_limit, no_service, local)."},
			[]string{"reason"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_commands_total",
			Help: "Client commands judged by the policy, by verdict (accept, reject, abort)."}, []string{"verdict"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_answers_total",
			Help: "Server answers judged by the policy, by verdict (accept, reject, change, abort)."}, []string{"verdict"}),
		callbackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_policy_callback_errors_total",
			Help: "Policy callbacks that failed (error, panic, unusable result), by what they judged (command, answer)."},
			[]string{"kind"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_transfers_total",
			Help: "Transfers recorded, by direction (download, upload, listing), data path (proxy, kernel, none) and result (complete, aborted, refused, failed)."},
			[]string{"direction", "path", "result"}),
		transferSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ftpgate_transfer_duration_seconds",
			Help:    "Time from a transfer command to its final reply, by direction.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 9)}, []string{"direction"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_data_bytes_total",
			Help: "Bytes the data channels delivered, by direction (to_client, to_server); the kernel path's are estimated from packet counts."},
			[]string{"direction"}),
		expectOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ftpgate_expectations_open",
			Help: "Data connection expectations installed now."}),
		expectCreated: prometheus.NewCounter(prometheus.CounterOpts{Name: "ftpgate_expectations_created_total",
			Help: "Data connection expectations installed."}),
		expectUsed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ftpgate_expectations_used_total",
			Help: "Data connection expectations claimed by their connection."}),
		expectExpired: prometheus.NewCounter(prometheus.CounterOpts{Name: "ftpgate_expectations_expired_total",
			Help: "Data connection expectations that expired unused."}),
		expectRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_expectations_refused_total",
			Help: "Data connection expectations refused, by reason (in_use, full, install)."}, []string{"reason"}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_tls_handshakes_total",
			Help: "TLS handshakes, by leg (client, server), connection (control, data) and result (ok, failed)."},
			[]string{"leg", "conn", "result"}),
		verifyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_tls_verify_failures_total",
			Help: "Server certificates that failed verification, by reason."}, []string{"reason"}),
		hookVerdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_hook_verdicts_total",
			Help: "Inspection hook verdicts, by hook and outcome (allow, refuse, failed)."}, []string{"hook", "outcome"}),
		nftErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ftpgate_nft_errors_total",
			Help: "Failed nftables (netlink) operations, by operation (setup, teardown, add, delete, check)."},
			[]string{"op"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.sessionsActive, m.sessionsTotal, m.sessionsRefused, m.commands, m.answers, m.callbackErrors,
		m.transfers, m.transferSeconds, m.bytes,
		m.expectOpen, m.expectCreated, m.expectUsed, m.expectExpired, m.expectRefused,
		m.handshakes, m.verifyFailures, m.hookVerdicts, m.nftErrors,
	)
	return m
}

// Registry returns the registry the metrics are in (nil for a nil *Metrics).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler returns the HTTP handler that serves the metrics in the Prometheus exposition
// formats. A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
