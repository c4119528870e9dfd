package policy

import (
	"context"
	"strings"

	"github.com/ftpgate/ftpgate/wire"
)

// Session is one control connection's view of its policy: the state machine (login,
// RNFR/RNTO, REST) and the decisions on its commands and answers. It is not safe for
// concurrent use; a session's control loop owns it.
type Session struct {
	p      *Policy
	limits Limits
	info   Info

	loggedIn    bool
	user        string // the user of the current login or login attempt
	pendingUser string // the argument of the last USER forwarded

	rnfrArmed bool // a 350 answered RNFR and no command has been forwarded since

	restPending int64 // the offset of the last REST forwarded
	restReady   bool  // a 350 answered it and only set-up commands followed
	xferOffset  int64 // the REST offset of the last RETR, STOR or APPE forwarded
}

// Unfiltered starts the state of a session that has no policy: every command and answer
// passes unchanged (an empty command line gets 500, as it cannot be sent on), and the state
// machine still tracks the login, the user and the restart offset, so the gateway has one
// owner of that state whether or not a policy decides.
func Unfiltered(info Info) *Session {
	return &Session{info: info, user: info.User}
}

// SetTLS records whether the client's control connection is protected now (AUTH TLS or
// implicit FTPS done; CCC undoes it), for Info and the callbacks' session.tls.
func (s *Session) SetTLS(on bool) { s.info.TLS = on }

// NewSession starts the policy state of one session. info describes it to callbacks; its
// User is kept up to date as the session logs in. p must not change while sessions use it.
func (p *Policy) NewSession(info Info) *Session {
	return &Session{p: p, limits: p.Limits.WithDefaults(), info: info, user: info.User}
}

// User returns the user name of the current login, or of the login in progress: the
// argument of the USER command the server last answered 230, 232, 331, 332 or 336.
func (s *Session) User() string { return s.user }

// LoggedIn reports whether the server has accepted a login (230 or 232 to USER, 230 or
// 202 to PASS or ACCT) and no REIN has undone it since.
func (s *Session) LoggedIn() bool { return s.loggedIn }

// TransferOffset returns the REST offset that applies to the last RETR, STOR or APPE the
// session forwarded: the offset of a REST the server answered 350 with only data connection
// set-up commands (PORT PASV EPRT EPSV TYPE MODE STRU NOOP) in between; 0 otherwise.
func (s *Session) TransferOffset() int64 { return s.xferOffset }

// Info returns the session's description as callbacks see it, User included.
func (s *Session) Info() Info {
	i := s.info
	i.User = s.user
	return i
}

// Command decides on a command from the client. In order: an empty command (allowed only
// by PermitEmptyCommand); the limits (line length, user name length and characters,
// password length); the state machine (before login only the verbs wire.Lookup allows before login, RNTO
// only right after an RNFR the server answered 350); the argument checks (TYPE, MODE,
// STRU, REST, PORT, EPRT, EPSV, PASV, USER) and OPTS for a removed feature; then the
// command table (exact verb, else "*"; a verb that neither the table nor wire.Known knows is
// refused with 500 unless PermitUnknownCommand), AllowedUsers, and callbacks. A log
// dry run (the entry's or the policy's) turns a refusal by the policy (not by the built-in checks) into
// an accepted verdict with WouldRefuse set. An accepted verdict carries the argument to
// forward in Arg; a refused one carries the reply. Only accepted commands change the
// session's state.
func (s *Session) Command(ctx context.Context, verb, arg string) Verdict {
	v := s.command(ctx, verb, arg)
	if v.Kind == Accept {
		s.forwarded(strings.ToUpper(verb), v.Arg)
	}
	return v
}

// Sent tells the session of a command the gateway sent to the server on its own (a REST 0
// that clears an offset the client set for a transfer ftpgate refused): the state follows
// it as it follows the client's commands.
func (s *Session) Sent(verb, arg string) {
	s.forwarded(strings.ToUpper(verb), arg)
}

// command is Command without the state update.
func (s *Session) command(ctx context.Context, verb, arg string) Verdict {
	if s.p == nil && verb != "" {
		return Verdict{Kind: Accept, Arg: arg}
	}
	if verb == "" {
		if s.p != nil && s.p.PermitEmptyCommand {
			return Verdict{Kind: Accept, Arg: arg}
		}
		return s.soften(Verdict{Kind: Reject, Code: wire.CodeSyntaxError, Text: "Syntax error, command unrecognized.", Arg: arg,
			Reason: "empty command (permit_empty_command is off)"}, false)
	}
	verb = strings.ToUpper(verb)
	if r := s.builtin(verb, arg); r != nil {
		return Verdict{Kind: Reject, Code: r.code, Text: r.text, Arg: arg, Reason: r.reason}
	}
	v := s.decideCommand(ctx, verb, arg)
	if v.Kind == Accept && v.Arg != arg {
		if r := s.builtin(verb, v.Arg); r != nil {
			return Verdict{Kind: Reject, Code: r.code, Text: r.text, Arg: arg,
				Reason: "callback rewrote the argument into one the gateway refuses: " + r.reason}
		}
	}
	return v
}

// builtin runs the checks no policy entry can switch off: limits, state and arguments.
func (s *Session) builtin(verb, arg string) *refusal {
	if n := len(verb) + 1 + len(arg); n > s.limits.MaxLineLength {
		return &refusal{wire.CodeSyntaxError, "Line too long.", "command line exceeds max_line_length"}
	}
	switch verb {
	case "USER":
		if why := s.limits.checkUser(arg); why != "" {
			return &refusal{wire.CodeArgSyntax, "Invalid user name.", why}
		}
	case "PASS":
		if why := s.limits.checkPassword(arg); why != "" {
			return &refusal{wire.CodeArgSyntax, "Password too long.", why}
		}
	}
	if v, _ := wire.Lookup(verb); !s.loggedIn && !v.BeforeLogin {
		return &refusal{wire.CodeNotLoggedIn, "Please login with USER and PASS.", verb + " before login"}
	}
	if verb == "RNTO" && !s.rnfrArmed {
		return &refusal{wire.CodeBadSequence, "Bad sequence of commands.", "RNTO not right after an accepted RNFR"}
	}
	if r := checkArg(verb, arg); r != nil {
		return r
	}
	if verb == "OPTS" {
		if f, ok := s.removedOption(arg); ok {
			return &refusal{wire.CodeArgSyntax, "Option not supported.", "OPTS for the removed feature " + f}
		}
	}
	return nil
}

// forwarded updates the state for a command that passes to the server.
func (s *Session) forwarded(verb, arg string) {
	s.rnfrArmed = false
	switch v, _ := wire.Lookup(verb); {
	case verb == "USER":
		s.pendingUser = arg
	case verb == "REST":
		s.restPending, _ = wire.ParseREST(arg)
		s.restReady = false
	case v.Restart:
		s.xferOffset = 0
		if s.restReady {
			s.xferOffset = s.restPending
		}
		s.restReady = false
	case !v.KeepsRest:
		s.restReady = false
	}
}

// Answer decides on the answer code (with text) the server gave to verb ("Null" or "" for
// the greeting); preliminary 1xx answers come through here too. The answer table entry
// (AnswerAction's precedence) decides: accept; reject, which the client sees as "500 Error
// parsing answer" (or the entry's own code and text); change to the entry's code and text;
// abort; or a callback. A dry run (the entry's or the policy's) turns all but accept into an
// accepted verdict with WouldRefuse set. An answer that passes (accepted or changed) moves
// the state machine on: a login (230/232 to USER, 230/202 to PASS or ACCT), a pending
// rename (350 to RNFR), a restart offset (350 to REST), a REIN (220).
func (s *Session) Answer(ctx context.Context, verb string, code int, text string) Verdict {
	v := Verdict{Kind: Accept}
	if s.p != nil {
		v = s.decideAnswer(ctx, verb, code, text)
	}
	if v.Kind == Accept || v.Kind == Change {
		s.answered(answerVerb(verb), code)
	}
	return v
}

// answered updates the state for an answer that passes to the client. The server's code
// counts, not a changed one: it is the server's state the gateway tracks.
func (s *Session) answered(verb string, code int) {
	switch verb {
	case "USER", "PASS", "ACCT":
		s.loginAnswered(verb, code)
	case "REIN":
		if code == wire.CodeReady {
			info := s.info
			info.User = ""
			*s = Session{p: s.p, limits: s.limits, info: info}
		}
	case "RNFR":
		s.rnfrArmed = code == wire.CodePending
	case "REST":
		s.restReady = code == wire.CodePending
	}
}

// loginAnswered moves the login on for the server's answer to USER, PASS or ACCT.
func (s *Session) loginAnswered(verb string, code int) {
	switch {
	case verb == "USER" && (code == wire.CodeLoggedIn || code == wire.CodeSecurityLoggedIn):
		s.loggedIn, s.user = true, s.pendingUser
	case verb == "USER" && (code == wire.CodeNeedPassword || code == wire.CodeNeedAccount || code == wire.CodeNeedSecurity):
		s.loggedIn, s.user = false, s.pendingUser
	case verb != "USER" && (code == wire.CodeLoggedIn || code == wire.CodeNotImplementedOK):
		s.loggedIn = true
		if s.pendingUser != "" {
			s.user = s.pendingUser
		}
	}
}
