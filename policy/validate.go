package policy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/ftpgate/ftpgate/ftptls"
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid policy")

// CallbackChecker may be implemented by a Callbacks value that knows which callbacks it
// defines; Validate then refuses entries naming a callback it lacks.
type CallbackChecker interface {
	// HasCallback reports whether the named callback exists.
	HasCallback(name string) bool
}

// Validate checks p before any session uses it and reports every problem, each naming the
// table key or field: table keys well formed (command keys "*" or upper-case verbs; answer
// keys a verb, "*" or "Null" followed by 0 to 3 digits, the first 1..6), action kinds
// that fit the table (change only for answers), codes in range (reject 400..599, change
// and abort 100..599, change with text), texts on one line, callbacks named and
// p.Callbacks set (so config must attach the callbacks before it validates), limits in
// range, allowed users valid user names, feature names well formed, data and TLS settings
// among their values, client TLS only with certificates, and verify modes ca and pin with
// their CA file or pins.
func (p *Policy) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	for _, k := range slices.Sorted(maps.Keys(p.Commands)) {
		if k != Wildcard && !validVerb(k) {
			add("commands[%q]: key must be \"*\" or 1..%d upper-case letters", k, maxTableVerbLen)
		}
		if err := p.validateAction(p.Commands[k], false); err != nil {
			add("commands[%q]: %w", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Answers)) {
		if _, _, ok := splitAnswerKey(k); !ok {
			add("answers[%q]: key must be a verb (upper-case letters), \"*\" or \"Null\", then up to 3 digits starting 1..6", k)
		}
		if err := p.validateAction(p.Answers[k], true); err != nil {
			add("answers[%q]: %w", k, err)
		}
	}
	if err := p.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	for _, err := range []error{
		checkValue("data_mode", p.Data.Mode, DataModes()),
		checkValue("pasv_address", p.Data.PasvAddress, PasvAddresses()),
		checkValue("active_source_port", p.Data.ActiveSourcePort, SourcePorts()),
		checkValue("tls.client", p.TLS.Client, TLSLegs()),
		checkValue("tls.server", p.TLS.Server, TLSLegs()),
		checkValue("tls.verify", p.TLS.Verify.Mode, VerifyModes()),
	} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if sa := p.Data.ServerAddress; sa.Source == SourceAddress != sa.Addr.IsValid() ||
		checkValue("server_address", sa.Source, append(ServerSources(), SourceAddress)) != nil {
		add("server_address %q: want client, box or an address", sa.String())
	}
	if c := p.TLS.Client; (c == TLSOptional || c == TLSRequired) && p.TLS.Certs == nil {
		add("tls.client %q: no certificates to present (Certs is nil)", c)
	}
	switch v := p.TLS.Verify; {
	case v.Mode == ftptls.ModeCA && v.CAFile == "":
		add("tls.verify \"ca\": no CA file")
	case v.Mode == ftptls.ModePin && len(v.Pins) == 0:
		add("tls.verify \"pin\": no pins")
	}
	lim := p.Limits.WithDefaults()
	for i, u := range p.AllowedUsers {
		if u == "" {
			add("allowed_users[%d]: empty user name", i)
		} else if why := lim.checkUser(u); why != "" {
			add("allowed_users[%d] %q: %s", i, u, why)
		}
	}
	for _, f := range []struct {
		name  string
		items []string
	}{{"features.remove", p.Features.Remove}, {"features.add", p.Features.Add}} {
		for i, s := range f.items {
			if why := badFeature(s); why != "" {
				add("%s[%d] %q: %s", f.name, i, s, why)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("policy: %w %q: %w", ErrInvalid, p.Name, errors.Join(errs...))
}

// validateAction checks one table entry; answer says which table it is in.
func (p *Policy) validateAction(a Action, answer bool) error {
	if !safeText(a.Text) {
		return errors.New("text must be one line (no CR, LF or NUL)")
	}
	if a.Kind != Callback && a.Callback != "" {
		return fmt.Errorf("callback %q given for action %s", a.Callback, a.Kind)
	}
	switch a.Kind {
	case Accept:
		if a.Code != 0 || a.Text != "" {
			return errors.New("accept takes no code or text")
		}
	case Reject:
		if a.Code != 0 && (a.Code < 400 || a.Code > 599) {
			return fmt.Errorf("reject code %d out of range 400..599", a.Code)
		}
	case Abort:
		if a.Code != 0 && (a.Code < 100 || a.Code > 599) {
			return fmt.Errorf("abort code %d out of range 100..599", a.Code)
		}
	case Change:
		if !answer {
			return errors.New("change is for answers only")
		}
		if a.Code < 100 || a.Code > 599 {
			return fmt.Errorf("change needs a code in 100..599, not %d", a.Code)
		}
		if a.Text == "" {
			return errors.New("change needs a text")
		}
	case Callback:
		if a.Code != 0 || a.Text != "" {
			return errors.New("policy takes no code or text (the callback decides)")
		}
		if a.Callback == "" || strings.ContainsFunc(a.Callback, unicode.IsSpace) {
			return fmt.Errorf("policy needs a callback name without spaces, not %q", a.Callback)
		}
		if p.Callbacks == nil {
			return fmt.Errorf("callback %q named but the policy has no callbacks", a.Callback)
		}
		if c, ok := p.Callbacks.(CallbackChecker); ok && !c.HasCallback(a.Callback) {
			return fmt.Errorf("callback %q is not defined", a.Callback)
		}
	default:
		return fmt.Errorf("unknown action kind %d", int(a.Kind))
	}
	return nil
}

// badFeature returns why s is not a usable feature entry, or "".
func badFeature(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "empty feature"
	case strings.TrimSpace(s) != s:
		return "leading or trailing space"
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "control character"
	}
	return ""
}
