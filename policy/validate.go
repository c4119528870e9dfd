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
	errs = append(errs, p.validateTables()...)
	if err := p.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, p.validateSettings()...)
	errs = append(errs, p.validateLists()...)
	errs = append(errs, p.validateFeatures()...)
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("policy: %w %q: %w", ErrInvalid, p.Name, errors.Join(errs...))
}

// validateTables checks the keys and actions of the command and answer tables.
func (p *Policy) validateTables() []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(p.Commands)) {
		if k != Wildcard && !validVerb(k) {
			errs = append(errs, fmt.Errorf("commands[%q]: key must be \"*\" or 1..%d upper-case letters", k, maxTableVerbLen))
		}
		if err := p.validateAction(p.Commands[k], false); err != nil {
			errs = append(errs, fmt.Errorf("commands[%q]: %w", k, err))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Answers)) {
		if _, _, ok := splitAnswerKey(k); !ok {
			errs = append(errs, fmt.Errorf("answers[%q]: key must be a verb (upper-case letters), \"*\" or \"Null\", then up to 3 digits starting 1..6", k))
		}
		if err := p.validateAction(p.Answers[k], true); err != nil {
			errs = append(errs, fmt.Errorf("answers[%q]: %w", k, err))
		}
	}
	return errs
}

// validateSettings checks the data and TLS settings: each among its values, client TLS only
// with certificates, verify modes ca and pin with their CA file or pins.
func (p *Policy) validateSettings() []error {
	var errs []error
	for _, err := range []error{
		checkValue("data_mode", p.Data.Mode, DataModes()),
		checkValue("data_path", p.Data.Path, DataPaths()),
		checkValue("transfer_hash", p.Data.Hash, TransferHashes()),
		checkValue("pasv_address", p.Data.PasvAddress, PasvAddresses()),
		checkValue("active_source_port", p.Data.ActiveSourcePort, SourcePorts()),
		checkValue("tls.client", p.TLS.Client, TLSLegs()),
		checkValue("tls.server", p.TLS.Server, ServerTLSLegs()),
		checkValue("tls.data_protection", p.TLS.DataProtection, DataProtections()),
		checkValue("tls.client_data_reuse", p.TLS.ClientDataReuse, DataReuses()),
		checkValue("tls.verify", p.TLS.Verify.Mode, VerifyModes()),
	} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	sa := p.Data.ServerAddress
	addressGiven := sa.Source == SourceAddress
	if addressGiven != sa.Addr.IsValid() || checkValue("server_address", sa.Source, append(ServerSources(), SourceAddress)) != nil {
		errs = append(errs, fmt.Errorf("server_address %q: want client, box or an address", sa.String()))
	}
	if c := p.TLS.Client; (c == TLSOptional || c == TLSRequired) && p.TLS.Certs == nil {
		errs = append(errs, fmt.Errorf("tls.client %q: no certificates to present (Certs is nil)", c))
	}
	switch v := p.TLS.Verify; {
	case v.Mode == ftptls.ModeCA && v.CAFile == "":
		errs = append(errs, errors.New("tls.verify \"ca\": no CA file"))
	case v.Mode == ftptls.ModePin && len(v.Pins) == 0:
		errs = append(errs, errors.New("tls.verify \"pin\": no pins"))
	}
	return errs
}

// validateLists checks that the allowed users are valid user names, and the SITE
// subcommands words.
func (p *Policy) validateLists() []error {
	var errs []error
	for i, c := range p.SiteCommands {
		if !ValidSiteCommand(c) {
			errs = append(errs, fmt.Errorf("site_commands[%d] %q: letters only", i, c))
		}
	}
	lim := p.Limits.WithDefaults()
	for i, u := range p.AllowedUsers {
		if u == "" {
			errs = append(errs, fmt.Errorf("allowed_users[%d]: empty user name", i))
		} else if why := lim.checkUser(u); why != "" {
			errs = append(errs, fmt.Errorf("allowed_users[%d] %q: %s", i, u, why))
		}
	}
	return errs
}

// validateFeatures checks the feature names of features.remove and features.add.
func (p *Policy) validateFeatures() []error {
	var errs []error
	for _, f := range []struct {
		name  string
		items []string
	}{{"features.remove", p.Features.Remove}, {"features.add", p.Features.Add}} {
		for i, s := range f.items {
			if why := badFeature(s); why != "" {
				errs = append(errs, fmt.Errorf("%s[%d] %q: %s", f.name, i, s, why))
			}
		}
	}
	return errs
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
		return codeIn("reject", a.Code, 400)
	case Abort:
		return codeIn("abort", a.Code, 100)
	case Change:
		return validateChange(a, answer)
	case Callback:
		return p.validateCallback(a)
	default:
		return fmt.Errorf("unknown action kind %d", int(a.Kind))
	}
	return nil
}

// codeIn checks an action's optional reply code: 0 (the default) or lo..599.
func codeIn(kind string, code, lo int) error {
	if code == 0 || code >= lo && code <= 599 {
		return nil
	}
	return fmt.Errorf("%s code %d out of range %d..599", kind, code, lo)
}

// validateChange checks a change entry: answers only, with a code and a text.
func validateChange(a Action, answer bool) error {
	switch {
	case !answer:
		return errors.New("change is for answers only")
	case a.Code < 100 || a.Code > 599:
		return fmt.Errorf("change needs a code in 100..599, not %d", a.Code)
	case a.Text == "":
		return errors.New("change needs a text")
	}
	return nil
}

// validateCallback checks a policy entry: no code or text, a callback name without spaces
// that the policy's callbacks define.
func (p *Policy) validateCallback(a Action) error {
	switch {
	case a.Code != 0 || a.Text != "":
		return errors.New("policy takes no code or text (the callback decides)")
	case a.Callback == "" || strings.ContainsFunc(a.Callback, unicode.IsSpace):
		return fmt.Errorf("policy needs a callback name without spaces, not %q", a.Callback)
	case p.Callbacks == nil:
		return fmt.Errorf("callback %q named but the policy has no callbacks", a.Callback)
	}
	if c, ok := p.Callbacks.(CallbackChecker); ok && !c.HasCallback(a.Callback) {
		return fmt.Errorf("callback %q is not defined", a.Callback)
	}
	return nil
}

// ValidSiteCommand reports whether c can name a SITE subcommand: 1..16 ASCII letters.
func ValidSiteCommand(c string) bool {
	if c == "" || len(c) > maxTableVerbLen {
		return false
	}
	return strings.Trim(strings.ToUpper(c), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
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
