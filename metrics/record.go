package metrics

import "time"

// Label values of fixed sets. The callers pass these, or names from the configuration
// (services, hooks), never anything per session.
const (
	// Transfer results.
	ResultComplete = "complete"
	ResultAborted  = "aborted"
	ResultRefused  = "refused"
	ResultFailed   = "failed"

	// Hook outcomes.
	HookAllow  = "allow"
	HookRefuse = "refuse"
	HookFailed = "failed"

	// TLS legs, connections and results.
	LegClient   = "client"
	LegServer   = "server"
	ConnControl = "control"
	ConnData    = "data"
	TLSOK       = "ok"
	TLSFailed   = "failed"

	// Reasons an expectation is refused.
	ExpectInUse   = "in_use"
	ExpectFull    = "full"
	ExpectInstall = "install"

	// Reasons a control connection is refused before its session.
	RefusedLimit       = "limit"
	RefusedClientLimit = "client_limit"
	RefusedNoService   = "no_service"
	RefusedLocal       = "local"
)

// Transfer is what a transfer record tells the metrics.
type Transfer struct {
	// Direction is download, upload or listing; Path proxy or kernel ("" counts as none).
	Direction, Path string
	// Result is one of the Result constants.
	Result string
	// ToClient and ToServer are the bytes the data channel delivered each way.
	ToClient, ToServer int64
	// Duration runs from the transfer command to the final reply.
	Duration time.Duration
}

// serviceLabel is the service label of a session served without a configured service.
func serviceLabel(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// SessionStarted counts a control session of service that started.
func (m *Metrics) SessionStarted(service string) {
	if m == nil {
		return
	}
	m.sessionsTotal.WithLabelValues(serviceLabel(service)).Inc()
	m.sessionsActive.WithLabelValues(serviceLabel(service)).Inc()
}

// SessionEnded counts a control session of service that ended.
func (m *Metrics) SessionEnded(service string) {
	if m == nil {
		return
	}
	m.sessionsActive.WithLabelValues(serviceLabel(service)).Dec()
}

// SessionRefused counts a control connection refused before its session (a Refused
// constant).
func (m *Metrics) SessionRefused(reason string) {
	if m == nil {
		return
	}
	m.sessionsRefused.WithLabelValues(reason).Inc()
}

// Command counts a policy verdict on a command (the verdict kind's name: accept, reject,
// abort).
func (m *Metrics) Command(verdict string) {
	if m == nil {
		return
	}
	m.commands.WithLabelValues(verdict).Inc()
}

// Answer counts a policy verdict on an answer (accept, reject, change, abort).
func (m *Metrics) Answer(verdict string) {
	if m == nil {
		return
	}
	m.answers.WithLabelValues(verdict).Inc()
}

// CallbackError counts a policy callback that failed on a command or an answer (kind).
func (m *Metrics) CallbackError(kind string) {
	if m == nil {
		return
	}
	m.callbackErrors.WithLabelValues(kind).Inc()
}

// TransferDone counts a recorded transfer and its bytes.
func (m *Metrics) TransferDone(t Transfer) {
	if m == nil {
		return
	}
	path := t.Path
	if path == "" {
		path = "none"
	}
	m.transfers.WithLabelValues(t.Direction, path, t.Result).Inc()
	m.transferSeconds.WithLabelValues(t.Direction).Observe(t.Duration.Seconds())
	m.bytes.WithLabelValues("to_client").Add(float64(max(t.ToClient, 0)))
	m.bytes.WithLabelValues("to_server").Add(float64(max(t.ToServer, 0)))
}

// HookVerdict counts an inspection hook's verdict (a Hook constant as outcome).
func (m *Metrics) HookVerdict(hook, outcome string) {
	if m == nil {
		return
	}
	m.hookVerdicts.WithLabelValues(hook, outcome).Inc()
}

// ExpectationCreated counts an expectation installed; it is open until ExpectationClosed.
func (m *Metrics) ExpectationCreated() {
	if m == nil {
		return
	}
	m.expectCreated.Inc()
	m.expectOpen.Inc()
}

// ExpectationClosed counts an open expectation gone (used, expired or withdrawn).
func (m *Metrics) ExpectationClosed() {
	if m == nil {
		return
	}
	m.expectOpen.Dec()
}

// ExpectationUsed counts an expectation claimed by its connection.
func (m *Metrics) ExpectationUsed() {
	if m == nil {
		return
	}
	m.expectUsed.Inc()
}

// ExpectationExpired counts an expectation that expired unused.
func (m *Metrics) ExpectationExpired() {
	if m == nil {
		return
	}
	m.expectExpired.Inc()
}

// ExpectationRefused counts an expectation refused (an Expect constant as reason).
func (m *Metrics) ExpectationRefused(reason string) {
	if m == nil {
		return
	}
	m.expectRefused.WithLabelValues(reason).Inc()
}

// TLSHandshake counts a TLS handshake on leg (client, server) of conn (control, data):
// failed when err is not nil.
func (m *Metrics) TLSHandshake(leg, conn string, err error) {
	if m == nil {
		return
	}
	result := TLSOK
	if err != nil {
		result = TLSFailed
	}
	m.handshakes.WithLabelValues(leg, conn, result).Inc()
}

// VerifyFailure counts a server certificate that failed verification (an ftptls Reason).
func (m *Metrics) VerifyFailure(reason string) {
	if m == nil {
		return
	}
	m.verifyFailures.WithLabelValues(reason).Inc()
}

// NftError counts a failed nftables operation op.
func (m *Metrics) NftError(op string) {
	if m == nil {
		return
	}
	m.nftErrors.WithLabelValues(op).Inc()
}
