package policy

import "strings"

// FilterFeatures edits the body lines of a 211 FEAT reply (the lines between the first and
// the last): it drops the features Features.Remove names and appends, each as " NAME",
// the features of Features.Add the server did not list. A Remove or Add entry matches a
// line case-insensitively on the line's first word, or on the whole line (spaces
// normalised) when the entry has a space ("MODE Z"). lines is not modified.
func (s *Session) FilterFeatures(lines []string) []string {
	if s.p == nil {
		return lines
	}
	out := make([]string, 0, len(lines)+len(s.p.Features.Add))
	for _, l := range lines {
		if !matchesAny(s.p.Features.Remove, l) {
			out = append(out, l)
		}
	}
	for _, f := range s.p.Features.Add {
		if !matchesAny([]string{f}, out...) {
			out = append(out, " "+strings.TrimSpace(f))
		}
	}
	return out
}

// matchesAny reports whether some entry matches some line (see FilterFeatures).
func matchesAny(entries []string, lines ...string) bool {
	for _, e := range entries {
		ef := strings.Fields(e)
		if len(ef) == 0 {
			continue
		}
		for _, l := range lines {
			lf := strings.Fields(l)
			if len(lf) == 0 {
				continue
			}
			if len(ef) == 1 && strings.EqualFold(ef[0], lf[0]) ||
				len(ef) > 1 && strings.EqualFold(strings.Join(ef, " "), strings.Join(lf, " ")) {
				return true
			}
		}
	}
	return false
}

// removedOption reports whether an OPTS argument addresses a removed feature: the
// feature's words (case-insensitively) begin the argument, so "MODE Z" catches
// "OPTS MODE Z LEVEL 5" and "UTF8" catches "OPTS UTF8 ON". It returns the feature.
func (s *Session) removedOption(arg string) (string, bool) {
	af := strings.Fields(arg)
	for _, e := range s.p.Features.Remove {
		ef := strings.Fields(e)
		if len(ef) == 0 || len(ef) > len(af) {
			continue
		}
		match := true
		for i := range ef {
			if !strings.EqualFold(ef[i], af[i]) {
				match = false
				break
			}
		}
		if match {
			return strings.Join(ef, " "), true
		}
	}
	return "", false
}
