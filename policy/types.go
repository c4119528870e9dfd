package policy

import (
	"context"
	"net/netip"
)

// Kind is what happens to a command or an answer.
type Kind int

// The kinds of action and verdict.
const (
	// Accept passes the command or answer on.
	Accept Kind = iota
	// Reject refuses a command with Code and Text (it is never forwarded). For an answer,
	// the client gets "500 Error parsing answer" instead, since RFC 959 forbids dropping it.
	Reject
	// Abort closes both sides of the session.
	Abort
	// Change replaces an answer's code and text (answers only).
	Change
	// Callback lets the named callback decide (tables only, never a verdict).
	Callback
)

// String returns the configuration name of k.
func (k Kind) String() string {
	switch k {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Abort:
		return "abort"
	case Change:
		return "change"
	case Callback:
		return "policy"
	}
	return "unknown"
}

// Action is one entry of a command or answer table.
type Action struct {
	Kind Kind
	// Code and Text are the reply of Reject (zero: a default such as 500 or 550) and the
	// new answer of Change.
	Code int
	Text string
	// Callback names the function that decides, for Kind Callback.
	Callback string
	// DryRun ACCEPTS whatever the entry would have refused, changed or aborted, and says in
	// the verdict that it would have (an operator tightening a policy on live traffic).
	DryRun bool
}

// Info describes a session to callbacks and to logs.
type Info struct {
	ID     uint64
	Client netip.AddrPort
	Server netip.AddrPort
	User   string
	TLS    bool
}

// Verdict is the decision on one command or answer.
type Verdict struct {
	// Kind is Accept, Reject, Abort or (answers only) Change.
	Kind Kind
	// Code and Text: the reply for Reject; the new answer for Change.
	Code int
	Text string
	// Arg is the argument to forward with an accepted command (a callback may rewrite it).
	Arg string
	// WouldRefuse is set when the command or answer was accepted only because of a log
	// dry run (of the entry or the policy); Reason then says what would have happened.
	WouldRefuse bool
	// Reason explains a refusal (or a would-be refusal) for the log line.
	Reason string
	// CallbackError is set when the verdict stands for a callback that failed (an error,
	// a panic or an unusable result), whatever it became.
	CallbackError bool
}

// Callbacks runs named callbacks. script.Program implements it.
type Callbacks interface {
	// Command decides on a command; the verdict's Arg may rewrite the argument.
	Command(ctx context.Context, name string, info Info, verb, arg string) (Verdict, error)
	// Answer decides on an answer to verb.
	Answer(ctx context.Context, name string, info Info, verb string, code int, text string) (Verdict, error)
}
