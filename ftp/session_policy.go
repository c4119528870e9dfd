package ftp

import (
	"context"
	"strconv"
	"strings"

	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/policy"
)

// PolicySession decides on one session's commands and answers, and owns the session's
// protocol state (login, user, restart offset): the one place that state is tracked.
// policy.Session implements it; a session given none uses policy.Unfiltered, which decides
// nothing and still tracks the state. The session calls it under s.pmu.
type PolicySession interface {
	Command(ctx context.Context, verb, arg string) policy.Verdict
	Answer(ctx context.Context, verb string, code int, text string) policy.Verdict
	FilterFeatures(lines []string) []string
	// User is the user of the current login (or the login in progress).
	User() string
	// TransferOffset is the REST offset that applies to the last RETR, STOR or APPE.
	TransferOffset() int64
	// SetTLS says whether the client's control connection is protected now.
	SetTLS(on bool)
	// Sent tells it of a command ftpgate sent to the server on its own.
	Sent(verb, arg string)
}

// unsupportedFeatures are features ftpgate removes from the server's FEAT reply whatever the
// policy says: TLS (ftpgate answers for its own TLS toward the client, which need not match
// the server's) and compressed mode, which would hide the data from inspection.
var unsupportedFeatures = []string{"AUTH", "PBSZ", "PROT", "CCC", "MODE Z"}

// judgeCommand asks the policy about cmd. It returns the command to go on with and false
// when the policy refused it (the client has its reply) or true with abort set when the
// session must end.
func (s *Session) judgeCommand(ctx context.Context, cmd wire.Command) (wire.Command, bool, bool) {
	s.pmu.Lock()
	v := s.pol.Command(ctx, cmd.Verb, cmd.Arg)
	s.pmu.Unlock()
	s.countVerdict("command", v)
	arg := cmd.Arg
	if cmd.Sensitive() {
		arg = "****"
	}
	if v.WouldRefuse {
		s.log.Warn("command would be refused by policy (accepted: dry run)", "command", cmd.Verb, "arg", arg, "reason", v.Reason)
	}
	switch v.Kind {
	case policy.Accept:
		cmd.Arg = v.Arg
		return cmd, true, false
	case policy.Abort:
		s.log.Warn("policy aborts the session", "command", cmd.Verb, "arg", arg, "reason", v.Reason)
		s.writeClient(wire.NewReply(wire.CodeUnavailable, "Service not available, session closed by policy."))
		return cmd, false, true
	default:
		s.refuse("policy: "+v.Reason, wire.NewReply(v.Code, v.Text), "command", cmd.Verb, "arg", arg)
		return cmd, false, false
	}
}

// judgeAnswer asks the policy about the answer r to verb ("Null" for the greeting). It
// returns what the client gets, whether r itself passes unchanged, and whether the session
// must end.
func (s *Session) judgeAnswer(ctx context.Context, verb string, r wire.Reply) (out wire.Reply, asIs, abort bool) {
	s.pmu.Lock()
	v := s.pol.Answer(ctx, verb, r.Code, r.Text())
	s.pmu.Unlock()
	s.countVerdict("answer", v)
	if v.WouldRefuse {
		s.log.Warn("answer would be refused by policy (accepted: dry run)", "command", verb, "reply", r.Code, "reason", v.Reason)
	}
	switch v.Kind {
	case policy.Accept:
		return r, true, false
	case policy.Abort:
		s.log.Warn("policy aborts the session on an answer", "command", verb, "reply", r.Code, "reason", v.Reason)
		return wire.NewReply(wire.CodeUnavailable, "Service not available, session closed by policy."), false, true
	case policy.Change:
		s.log.Info("answer changed by policy", "command", verb, "reply", r.Code, "new", v.Code)
		return wire.NewReply(v.Code, v.Text), false, false
	default:
		s.log.Warn("answer refused by policy", "command", verb, "reply", r.Code, "text", r.Text(), "reason", v.Reason)
		return wire.NewReply(v.Code, v.Text), false, false
	}
}

// countVerdict counts the policy's verdict v on a command or an answer (kind), and the
// callback failure it stands for, if any.
func (s *Session) countVerdict(kind string, v policy.Verdict) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	if kind == "command" {
		m.Command(v.Kind.String())
	} else {
		m.Answer(v.Kind.String())
	}
	if v.CallbackError {
		m.CallbackError(kind)
	}
}

// filterFeatures rebuilds a multi-line 211 FEAT reply without the features ftpgate cannot
// carry and with the policy's edits.
func (s *Session) filterFeatures(r wire.Reply) wire.Reply {
	if r.Code != wire.CodeFeatures || len(r.Lines) < 2 {
		return r
	}
	body := make([]string, 0, len(r.Lines)-2)
	serverTLS := false
	for _, l := range r.Lines[1 : len(r.Lines)-1] {
		f := strings.ToUpper(strings.TrimSpace(l))
		serverTLS = serverTLS || f == "AUTH" || strings.HasPrefix(f, "AUTH ")
		if !unsupported(l) {
			body = append(body, l)
		}
	}
	last := r.Lines[len(r.Lines)-1]
	if t := s.cfg.TLS; t.clientOK() {
		// ftpgate speaks TLS toward the client itself. It offers it when the server leg can
		// follow (the server offers TLS, or policy requires it of the server), or when the
		// policy lets the client's TLS end at ftpgate (bridge, refused) — and then says so.
		switch {
		case t.Server == policy.TLSRequired || serverTLS && t.Server != policy.TLSRefused:
			body = append(body, " AUTH TLS", " PBSZ", " PROT")
		case t.Server == policy.TLSBridge || t.Server == policy.TLSRefused:
			body = append(body, " AUTH TLS", " PBSZ", " PROT")
			last = strconv.Itoa(r.Code) + " End (ftpgate: TLS toward the client only; the server leg is plain)"
		}
	}
	s.pmu.Lock()
	body = s.pol.FilterFeatures(body)
	s.pmu.Unlock()
	lines := make([]string, 0, len(body)+2)
	lines = append(lines, r.Lines[0])
	lines = append(lines, body...)
	lines = append(lines, last)
	return wire.Reply{Code: r.Code, Lines: lines}
}

// unsupported reports whether a FEAT body line names a feature in unsupportedFeatures.
func unsupported(line string) bool {
	f := strings.ToUpper(strings.TrimSpace(line))
	for _, u := range unsupportedFeatures {
		if f == u || strings.HasPrefix(f, u+" ") && !strings.Contains(u, " ") {
			return true
		}
	}
	return false
}

// user returns the session's user, as the policy session tracks it.
func (s *Session) user() string {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.pol.User()
}

// setTLS tells the policy session whether the client's control connection is protected.
func (s *Session) setTLS(on bool) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.pol.SetTLS(on)
}
