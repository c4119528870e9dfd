package config

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/policy"
)

// maxText is the longest reply text an entry may set (as for script verdicts).
const maxText = 1024

// commands sets the entries of the commands: mapping on p, over the base's.
func (b *builder) commands(n *yaml.Node, path string, p *policy.Policy) error {
	return b.table(n, path, &p.Commands, false)
}

// answers sets the entries of the answers: mapping on p, over the base's.
func (b *builder) answers(n *yaml.Node, path string, p *policy.Policy) error {
	return b.table(n, path, &p.Answers, true)
}

// table sets the entries of a commands: or answers: mapping on *dst, over the base's.
func (b *builder) table(n *yaml.Node, path string, dst *map[string]policy.Action, answers bool) error {
	normalise, what, invalid := commandKey, "command", `invalid command (1 to 16 letters, or "*")`
	if answers {
		normalise, what = answerKey, "answer key"
		invalid = `invalid answer key (a command, "*" or "Null", then up to 3 digits of a code: PWD257, PWD2, *5, Null220)`
	}
	entries, err := b.mapping(n, path)
	if err != nil {
		return err
	}
	set := make(map[string]int, len(entries))
	for _, e := range entries {
		at := join(path, e.key)
		key, ok := normalise(e.key)
		if !ok {
			return b.errAt(e.keyN, at, "%s", invalid)
		}
		if line, dup := set[key]; dup {
			return b.errAt(e.keyN, at, "duplicate %s %s (first at line %d)", what, key, line)
		}
		set[key] = e.keyN.Line
		a, err := b.action(e.value, at, answers)
		if err != nil {
			return err
		}
		if *dst == nil {
			*dst = map[string]policy.Action{}
		}
		(*dst)[key] = a
	}
	return nil
}

// commandKey normalises a commands: key: "*" or a verb of 1..16 ASCII letters, upper-cased.
func commandKey(s string) (string, bool) {
	if s == "*" {
		return s, true
	}
	if !isVerb(s) {
		return "", false
	}
	return strings.ToUpper(s), true
}

// isVerb reports whether s is 1..16 ASCII letters (the engine's bound on table verbs).
func isVerb(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) {
			return false
		}
	}
	return true
}

// answerKey normalises an answers: key: a verb (letters only), "*" or "Null" (any case),
// followed by up to three digits of a reply code whose first digit is 1-6 (6xx: RFC 2228).
func answerKey(s string) (string, bool) {
	i := len(s)
	for i > 0 && isDigit(s[i-1]) {
		i--
	}
	verb, code := s[:i], s[i:]
	if len(code) > 3 || (code != "" && (code[0] < '1' || code[0] > '6')) {
		return "", false
	}
	switch {
	case verb == "*":
	case strings.EqualFold(verb, "Null"):
		verb = "Null"
	case isVerb(verb):
		verb = strings.ToUpper(verb)
	default:
		return "", false
	}
	return verb + code, true
}

// isLetter reports whether c is an ASCII letter.
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// action decodes one table entry: the shorthand "accept", "reject" or "abort", or a
// mapping {action, code, text, callback, dry_run}. answer selects the answers table's rules.
func (b *builder) action(n *yaml.Node, path string, answer bool) (policy.Action, error) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return b.shorthandAction(n, path, answer)
	}
	if isNull(n) || n.Kind != yaml.MappingNode {
		return policy.Action{}, b.errAt(n, path, "must be an action (accept, reject, abort) or a mapping with action:")
	}
	f, err := b.fields(n, path, "action", "code", "text", "callback", "dry_run")
	if err != nil {
		return policy.Action{}, err
	}
	var a policy.Action
	if a.Kind, err = b.actionKind(f, n, path, answer); err != nil {
		return a, err
	}
	if err := b.actionFields(f, n, path, &a); err != nil {
		return a, err
	}
	return a, nil
}

// shorthandAction decodes an entry written as a bare action name, the string scalar n; only
// the kinds that need no further settings may be written so.
func (b *builder) shorthandAction(n *yaml.Node, path string, answer bool) (policy.Action, error) {
	k, ok := kindByName(n.Value)
	if !ok {
		return policy.Action{}, b.errAt(n, path, "%s", unknownAction(n.Value))
	}
	switch {
	case k == policy.Change && !answer:
		return policy.Action{}, b.errAt(n, path, "change is for answers only (use reject, or policy with a callback)")
	case k == policy.Change:
		return policy.Action{}, b.errAt(n, path, "change needs code and text: write {action: change, code: ..., text: ...}")
	case k == policy.Callback:
		return policy.Action{}, b.errAt(n, path, "policy needs a callback: write {action: policy, callback: ...}")
	}
	return policy.Action{Kind: k}, nil
}

// actionKind decodes the required action: key of the entry mapping n (whose fields are f);
// change is for answers only. It returns the kind it found even with an error.
func (b *builder) actionKind(f map[string]*yaml.Node, n *yaml.Node, path string, answer bool) (policy.Kind, error) {
	an, ok := f["action"]
	if !ok {
		return 0, b.errAt(n, join(path, "action"), "required")
	}
	name, err := b.str(an, join(path, "action"))
	if err != nil {
		return 0, err
	}
	k, ok := kindByName(name)
	if !ok {
		return k, b.errAt(an, join(path, "action"), "%s", unknownAction(name))
	}
	if k == policy.Change && !answer {
		return k, b.errAt(an, join(path, "action"), "change is for answers only (use reject, or policy with a callback)")
	}
	return k, nil
}

// actionFields decodes code, text, callback and log into a, checking that each fits the
// action's kind.
func (b *builder) actionFields(f map[string]*yaml.Node, n *yaml.Node, path string, a *policy.Action) error {
	if err := b.actionCode(f, path, a); err != nil {
		return err
	}
	if err := b.actionText(f, path, a); err != nil {
		return err
	}
	if a.Kind == policy.Change && (a.Code == 0 || a.Text == "") {
		return b.errAt(n, path, "change needs both code and text")
	}
	if err := b.actionCallback(f, n, path, a); err != nil {
		return err
	}
	if v, ok := f["dry_run"]; ok {
		var err error
		if a.DryRun, err = b.boolean(v, join(path, "dry_run")); err != nil {
			return err
		}
	}
	return nil
}

// hasReply reports whether actions of kind k send a reply of their own (code and text).
func hasReply(k policy.Kind) bool { return k == policy.Reject || k == policy.Change }

// actionCode decodes code: into a: a 4xx or 5xx refusal for reject, any reply code for
// change, and nothing for the other kinds.
func (b *builder) actionCode(f map[string]*yaml.Node, path string, a *policy.Action) error {
	v, ok := f["code"]
	if !ok {
		return nil
	}
	if !hasReply(a.Kind) {
		return b.errAt(v, join(path, "code"), "only for reject and change")
	}
	lo := 400 // a refusal is a 4xx or 5xx reply
	if a.Kind == policy.Change {
		lo = 100
	}
	var err error
	a.Code, err = b.integer(v, join(path, "code"), lo, 599)
	return err
}

// actionText decodes text: into a: one line of at most maxText bytes, for reject and change
// only.
func (b *builder) actionText(f map[string]*yaml.Node, path string, a *policy.Action) error {
	v, ok := f["text"]
	if !ok {
		return nil
	}
	if !hasReply(a.Kind) {
		return b.errAt(v, join(path, "text"), "only for reject and change")
	}
	var err error
	if a.Text, err = b.str(v, join(path, "text")); err != nil {
		return err
	}
	if strings.ContainsAny(a.Text, "\r\n\x00") || len(a.Text) > maxText {
		return b.errAt(v, join(path, "text"), "must be one line without NUL, at most %d bytes", maxText)
	}
	return nil
}

// actionCallback decodes callback: into a; it is required for action policy and allowed for
// no other.
func (b *builder) actionCallback(f map[string]*yaml.Node, n *yaml.Node, path string, a *policy.Action) error {
	cb, hasCB := f["callback"]
	switch {
	case hasCB && a.Kind != policy.Callback:
		return b.errAt(cb, join(path, "callback"), "only for action policy")
	case !hasCB && a.Kind == policy.Callback:
		return b.errAt(n, join(path, "callback"), "required for action policy")
	case hasCB:
		var err error
		if a.Callback, err = b.str(cb, join(path, "callback")); err != nil {
			return err
		}
		return b.checkCallback(a.Callback, cb, join(path, "callback"))
	}
	return nil
}
