package policy

import (
	"strconv"
	"strings"
)

// NullVerb is the pseudo-verb the greeting (the answer to no command) is looked up under.
const NullVerb = "Null"

// Wildcard is the table key that matches any verb.
const Wildcard = "*"

// CommandAction returns the command table's entry for verb: the exact (upper-cased) verb,
// else the wildcard "*". The bool is false when neither exists.
func (p *Policy) CommandAction(verb string) (Action, bool) {
	if a, ok := p.Commands[strings.ToUpper(verb)]; ok {
		return a, true
	}
	a, ok := p.Commands[Wildcard]
	return a, ok
}

// AnswerAction returns the answer table's action for the answer code to verb ("Null", or
// "", for the greeting), with Zorp's precedence: the verb with the full code ("PWD200"),
// then with ever shorter prefixes of it ("PWD20", "PWD2", "PWD"), then the wildcard the
// same way ("*200", "*20", "*2", "*"). When nothing matches the answer is accepted.
func (p *Policy) AnswerAction(verb string, code int) Action {
	a, _ := p.answerEntry(verb, code)
	return a
}

// answerEntry is AnswerAction that also returns the key that matched ("" for none).
func (p *Policy) answerEntry(verb string, code int) (Action, string) {
	digits := ""
	if code >= 0 && code <= 999 {
		digits = strconv.Itoa(code + 1000)[1:]
	}
	for _, v := range []string{answerVerb(verb), Wildcard} {
		for n := len(digits); n >= 0; n-- {
			key := v + digits[:n]
			if a, ok := p.Answers[key]; ok {
				return a, key
			}
		}
	}
	return Action{Kind: Accept}, ""
}

// answerVerb maps the verb an answer replies to onto its table spelling: "" and "Null"
// become "Null", anything else is upper-cased.
func answerVerb(verb string) string {
	if verb == "" || verb == NullVerb {
		return NullVerb
	}
	return strings.ToUpper(verb)
}

// splitAnswerKey splits an answer table key into its verb ("*", "Null" or upper-case
// letters) and code prefix (0 to 3 digits, the first 1 to 6). ok is false for a malformed key.
func splitAnswerKey(key string) (verb, digits string, ok bool) {
	i := len(key)
	for i > 0 && key[i-1] >= '0' && key[i-1] <= '9' {
		i--
	}
	verb, digits = key[:i], key[i:]
	if len(digits) > 3 || len(digits) > 0 && (digits[0] < '1' || digits[0] > '6') {
		return verb, digits, false
	}
	if verb != Wildcard && verb != NullVerb && !validVerb(verb) {
		return verb, digits, false
	}
	return verb, digits, true
}

// maxTableVerbLen bounds the verbs a table may name.
const maxTableVerbLen = 16

// validVerb reports whether v is 1..maxTableVerbLen upper-case ASCII letters.
func validVerb(v string) bool {
	if v == "" || len(v) > maxTableVerbLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 'A' || v[i] > 'Z' {
			return false
		}
	}
	return true
}
