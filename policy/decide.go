package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ftpgate/ftpgate/wire"
)

// The replies the policy gives when an entry names no code or text.
const (
	textNotAllowed   = "Command not allowed by policy."
	textDenied       = "Permission denied."
	textUnknown      = "Unknown command."
	textPolicyError  = "Policy error."
	textLoginRefused = "Login not allowed by policy."
	textBadAnswer    = "Error parsing answer"
	codeBadAnswer    = wire.CodeSyntaxError
	codePolicyError  = wire.CodeFileUnavailable
	codeLoginRefused = wire.CodeNotLoggedIn
)

// decideCommand applies the command table, PermitUnknownCommand, AllowedUsers and
// callbacks to a command that passed the built-in checks.
func (s *Session) decideCommand(ctx context.Context, verb, arg string) Verdict {
	a, key := Action{}, verb
	if exact, ok := s.p.Commands[verb]; ok {
		a = exact
	} else if !wire.Known(verb) {
		if s.p.PermitUnknownCommand {
			return Verdict{Kind: Accept, Arg: arg}
		}
		return s.soften(Verdict{Kind: Reject, Code: wire.CodeSyntaxError, Text: textUnknown, Arg: arg,
			Reason: "unknown command " + verb + " (permit_unknown_command is off)"}, false)
	} else if wild, ok := s.p.Commands[Wildcard]; ok {
		a, key = wild, Wildcard
	} else {
		a, key = Action{Kind: Reject}, "(none: default reject)"
	}
	v := s.soften(s.applyCommand(ctx, a, key, verb, arg), a.DryRun)
	if v.Kind == Accept && verb == "SITE" {
		return s.siteCheck(v, arg, a.DryRun)
	}
	if v.Kind == Accept && verb == "USER" && len(s.p.AllowedUsers) > 0 && !slices.Contains(s.p.AllowedUsers, v.Arg) {
		r := s.soften(Verdict{Kind: Reject, Code: codeLoginRefused, Text: textLoginRefused, Arg: arg,
			Reason: fmt.Sprintf("user %q not in allowed_users", v.Arg)}, a.DryRun)
		if r.WouldRefuse {
			r.Arg = v.Arg
			r.Reason = joinReasons(v.Reason, r.Reason)
		}
		return r
	}
	return v
}

// siteCheck refuses an accepted SITE whose subcommand site_commands does not list.
func (s *Session) siteCheck(v Verdict, arg string, dryRun bool) Verdict {
	if len(s.p.SiteCommands) == 0 {
		return v
	}
	sub, _, _ := strings.Cut(strings.TrimSpace(v.Arg), " ")
	if sub == "" {
		return Verdict{Kind: Reject, Code: wire.CodeArgSyntax, Text: "SITE needs a subcommand.", Arg: arg, Reason: "SITE without a subcommand"}
	}
	if slices.ContainsFunc(s.p.SiteCommands, func(c string) bool { return strings.EqualFold(c, sub) }) {
		return v
	}
	r := s.soften(Verdict{Kind: Reject, Code: wire.CodeNotForParameter, Text: "SITE " + strings.ToUpper(sub) + " is not allowed by policy.",
		Arg: arg, Reason: fmt.Sprintf("SITE subcommand %q not in site_commands", sub)}, dryRun)
	if r.WouldRefuse {
		r.Arg = v.Arg
	}
	return r
}

// applyCommand turns the command table entry a (found under key) into a verdict.
func (s *Session) applyCommand(ctx context.Context, a Action, key, verb, arg string) Verdict {
	switch a.Kind {
	case Accept:
		return Verdict{Kind: Accept, Arg: arg}
	case Reject:
		code, text := rejectReply(verb, a.Code, a.Text)
		return Verdict{Kind: Reject, Code: code, Text: text, Arg: arg,
			Reason: fmt.Sprintf("command %s refused by policy entry %q", verb, key)}
	case Abort:
		return Verdict{Kind: Abort, Code: a.Code, Text: a.Text, Arg: arg,
			Reason: fmt.Sprintf("command %s aborts the session by policy entry %q", verb, key)}
	case Callback:
		return s.commandCallback(ctx, a.Callback, verb, arg)
	}
	return policyError(arg, fmt.Errorf("policy: entry %q: action %s is not valid for commands", key, a.Kind))
}

// rejectReply is the reply refusing verb: the entry's code and text, or 550 "Permission
// denied." for a file command and 500 "Command not allowed by policy." otherwise.
func rejectReply(verb string, code int, text string) (int, string) {
	if code == 0 {
		code = wire.CodeSyntaxError
		if v, _ := wire.Lookup(verb); v.File {
			code = wire.CodeFileUnavailable
		}
	}
	if text == "" {
		text = textNotAllowed
		if code == wire.CodeFileUnavailable {
			text = textDenied
		}
	}
	return code, text
}

// commandCallback runs the named command callback. An error, a panic or an unusable
// result refuses the command with 550 "Policy error.".
func (s *Session) commandCallback(ctx context.Context, name, verb, arg string) (v Verdict) {
	if s.p.Callbacks == nil {
		return callbackError(arg, fmt.Errorf("policy: callback %q: no callbacks configured", name))
	}
	defer func() {
		if r := recover(); r != nil {
			v = callbackError(arg, fmt.Errorf("policy: callback %q panicked: %v", name, r))
		}
	}()
	cv, err := s.p.Callbacks.Command(ctx, name, s.Info(), verb, arg)
	if err != nil {
		return callbackError(arg, fmt.Errorf("policy: callback %q: %w", name, err))
	}
	why := fmt.Sprintf("callback %q", name)
	if cv.Reason != "" {
		why += ": " + cv.Reason
	}
	switch cv.Kind {
	case Accept:
		out := arg
		if cv.Arg != "" {
			out = cv.Arg
		}
		if strings.ContainsAny(out, "\r\n\x00") {
			return callbackError(arg, fmt.Errorf("policy: callback %q rewrote the argument with a line break or NUL", name))
		}
		return Verdict{Kind: Accept, Arg: out, Reason: cv.Reason}
	case Reject:
		if cv.Code != 0 && (cv.Code < 400 || cv.Code > 599) || !safeText(cv.Text) {
			return callbackError(arg, fmt.Errorf("policy: callback %q: reject needs a 4xx or 5xx code and one line of text", name))
		}
		code, text := rejectReply(verb, cv.Code, cv.Text)
		return Verdict{Kind: Reject, Code: code, Text: text, Arg: arg, Reason: why}
	case Abort:
		return Verdict{Kind: Abort, Arg: arg, Reason: why}
	}
	return callbackError(arg, fmt.Errorf("policy: callback %q returned %s, not valid for a command", name, cv.Kind))
}

// policyError is the verdict refusing a command the policy could not decide on.
func policyError(arg string, err error) Verdict {
	return Verdict{Kind: Reject, Code: codePolicyError, Text: textPolicyError, Arg: arg, Reason: err.Error()}
}

// decideAnswer applies the answer table and callbacks to an answer.
func (s *Session) decideAnswer(ctx context.Context, verb string, code int, text string) Verdict {
	a, key := s.p.answerEntry(verb, code)
	v := s.applyAnswer(ctx, a, key, answerVerb(verb), code, text)
	return s.soften(v, a.DryRun)
}

// applyAnswer turns the answer table entry a (found under key) into a verdict.
func (s *Session) applyAnswer(ctx context.Context, a Action, key, verb string, code int, text string) Verdict {
	switch a.Kind {
	case Accept:
		return Verdict{Kind: Accept}
	case Reject:
		c, t := answerRejectReply(a.Code, a.Text)
		return Verdict{Kind: Reject, Code: c, Text: t,
			Reason: fmt.Sprintf("answer %d to %s refused by policy entry %q", code, verb, key)}
	case Change:
		if !validChange(a.Code, a.Text) {
			return answerError(fmt.Errorf("policy: entry %q: change needs a code 100..599 and one line of text", key))
		}
		return Verdict{Kind: Change, Code: a.Code, Text: a.Text,
			Reason: fmt.Sprintf("answer %d to %s changed by policy entry %q", code, verb, key)}
	case Abort:
		return Verdict{Kind: Abort, Code: a.Code, Text: a.Text,
			Reason: fmt.Sprintf("answer %d to %s aborts the session by policy entry %q", code, verb, key)}
	case Callback:
		return s.answerCallback(ctx, a.Callback, verb, code, text)
	}
	return answerError(fmt.Errorf("policy: entry %q: action %s is not valid for answers", key, a.Kind))
}

// answerRejectReply is what the client gets instead of a refused answer.
func answerRejectReply(code int, text string) (int, string) {
	if code == 0 {
		code = codeBadAnswer
	}
	if text == "" {
		text = textBadAnswer
	}
	return code, text
}

// answerCallback runs the named answer callback. An error, a panic or an unusable result
// refuses the answer ("500 Error parsing answer").
func (s *Session) answerCallback(ctx context.Context, name, verb string, code int, text string) (v Verdict) {
	if s.p.Callbacks == nil {
		return answerCallbackError(fmt.Errorf("policy: callback %q: no callbacks configured", name))
	}
	defer func() {
		if r := recover(); r != nil {
			v = answerCallbackError(fmt.Errorf("policy: callback %q panicked: %v", name, r))
		}
	}()
	cv, err := s.p.Callbacks.Answer(ctx, name, s.Info(), verb, code, text)
	if err != nil {
		return answerCallbackError(fmt.Errorf("policy: callback %q: %w", name, err))
	}
	why := fmt.Sprintf("callback %q", name)
	if cv.Reason != "" {
		why += ": " + cv.Reason
	}
	switch cv.Kind {
	case Accept:
		return Verdict{Kind: Accept, Reason: cv.Reason}
	case Reject:
		if cv.Code != 0 && (cv.Code < 400 || cv.Code > 599) || !safeText(cv.Text) {
			return answerCallbackError(fmt.Errorf("policy: callback %q: reject needs a 4xx or 5xx code and one line of text", name))
		}
		c, t := answerRejectReply(cv.Code, cv.Text)
		return Verdict{Kind: Reject, Code: c, Text: t, Reason: why}
	case Change:
		if !validChange(cv.Code, cv.Text) {
			return answerCallbackError(fmt.Errorf("policy: callback %q: change needs a code 100..599 and one line of text", name))
		}
		return Verdict{Kind: Change, Code: cv.Code, Text: cv.Text, Reason: why}
	case Abort:
		return Verdict{Kind: Abort, Reason: why}
	}
	return answerCallbackError(fmt.Errorf("policy: callback %q returned %s, not valid for an answer", name, cv.Kind))
}

// callbackError is policyError for a command callback that failed (CallbackError).
func callbackError(arg string, err error) Verdict {
	v := policyError(arg, err)
	v.CallbackError = true
	return v
}

// answerCallbackError is answerError for an answer callback that failed (CallbackError).
func answerCallbackError(err error) Verdict {
	v := answerError(err)
	v.CallbackError = true
	return v
}

// answerError is the verdict refusing an answer the policy could not decide on.
func answerError(err error) Verdict {
	return Verdict{Kind: Reject, Code: codeBadAnswer, Text: textBadAnswer, Reason: err.Error()}
}

// validChange reports whether code and text make a usable replacement answer.
func validChange(code int, text string) bool {
	return code >= 100 && code <= 599 && text != "" && safeText(text)
}

// safeText reports whether text fits on one reply line: no CR, LF or NUL.
func safeText(text string) bool {
	return !strings.ContainsAny(text, "\r\n\x00")
}

// soften turns a refusal into an accepted verdict marked WouldRefuse when the entry has
// dry_run or the policy is a dry run.
func (s *Session) soften(v Verdict, dryRun bool) Verdict {
	if v.Kind == Accept || !dryRun && (s.p == nil || !s.p.DryRun) {
		return v
	}
	what := "would " + v.Kind.String()
	if v.Kind == Change || v.Kind == Reject {
		what += fmt.Sprintf(" (%d %s)", v.Code, v.Text)
	}
	mode := "dry run of the entry"
	if !dryRun {
		mode = "dry run of the policy"
	}
	return Verdict{Kind: Accept, Arg: v.Arg, WouldRefuse: true, CallbackError: v.CallbackError,
		Reason: what + ": " + v.Reason + " [" + mode + "]"}
}

// joinReasons joins two log reasons, either of which may be empty.
func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "; " + b
}
