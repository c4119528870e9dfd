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
// mapping {action, code, text, callback, log}. answer selects the answers table's rules.
func (b *builder) action(n *yaml.Node, path string, answer bool) (policy.Action, error) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
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
	if isNull(n) || n.Kind != yaml.MappingNode {
		return policy.Action{}, b.errAt(n, path, "must be an action (accept, reject, abort) or a mapping with action:")
	}
	f, err := b.fields(n, path, "action", "code", "text", "callback", "log")
	if err != nil {
		return policy.Action{}, err
	}
	an, ok := f["action"]
	if !ok {
		return policy.Action{}, b.errAt(n, join(path, "action"), "required")
	}
	name, err := b.str(an, join(path, "action"))
	if err != nil {
		return policy.Action{}, err
	}
	var a policy.Action
	if a.Kind, ok = kindByName(name); !ok {
		return a, b.errAt(an, join(path, "action"), "%s", unknownAction(name))
	}
	if a.Kind == policy.Change && !answer {
		return a, b.errAt(an, join(path, "action"), "change is for answers only (use reject, or policy with a callback)")
	}
	if err := b.actionFields(f, n, path, &a); err != nil {
		return a, err
	}
	return a, nil
}

// actionFields decodes code, text, callback and log into a, checking that each fits the
// action's kind.
func (b *builder) actionFields(f map[string]*yaml.Node, n *yaml.Node, path string, a *policy.Action) error {
	var err error
	hasReply := a.Kind == policy.Reject || a.Kind == policy.Change
	if v, ok := f["code"]; ok {
		if !hasReply {
			return b.errAt(v, join(path, "code"), "only for reject and change")
		}
		lo := 400 // a refusal is a 4xx or 5xx reply
		if a.Kind == policy.Change {
			lo = 100
		}
		if a.Code, err = b.integer(v, join(path, "code"), lo, 599); err != nil {
			return err
		}
	}
	if v, ok := f["text"]; ok {
		if !hasReply {
			return b.errAt(v, join(path, "text"), "only for reject and change")
		}
		if a.Text, err = b.str(v, join(path, "text")); err != nil {
			return err
		}
		if strings.ContainsAny(a.Text, "\r\n\x00") || len(a.Text) > maxText {
			return b.errAt(v, join(path, "text"), "must be one line without NUL, at most %d bytes", maxText)
		}
	}
	if a.Kind == policy.Change && (a.Code == 0 || a.Text == "") {
		return b.errAt(n, path, "change needs both code and text")
	}
	cb, hasCB := f["callback"]
	switch {
	case hasCB && a.Kind != policy.Callback:
		return b.errAt(cb, join(path, "callback"), "only for action policy")
	case !hasCB && a.Kind == policy.Callback:
		return b.errAt(n, join(path, "callback"), "required for action policy")
	case hasCB:
		if a.Callback, err = b.str(cb, join(path, "callback")); err != nil {
			return err
		}
		if err := b.checkCallback(a.Callback, cb, join(path, "callback")); err != nil {
			return err
		}
	}
	if v, ok := f["log"]; ok {
		if a.Log, err = b.boolean(v, join(path, "log")); err != nil {
			return err
		}
	}
	return nil
}
