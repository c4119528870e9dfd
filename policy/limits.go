package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The defaults a zero field of Limits stands for.
const (
	DefaultMaxLineLength     = 2048
	DefaultMaxUsernameLength = 32
	DefaultMaxPasswordLength = 64
	DefaultMaxReplyLines     = 1000
	// DefaultUsernameChars are the characters a user name may contain by default.
	DefaultUsernameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-+"
)

// Upper bounds Validate accepts for the limits, so a typo cannot disable a bound.
const (
	maxLineLengthCap = 1 << 20
	maxReplyLinesCap = 1 << 20
)

// WithDefaults returns l with every zero field replaced by its default: the limits a
// session actually enforces (and what `ftpgate check` prints).
func (l Limits) WithDefaults() Limits {
	if l.MaxLineLength == 0 {
		l.MaxLineLength = DefaultMaxLineLength
	}
	if l.MaxUsernameLength == 0 {
		l.MaxUsernameLength = DefaultMaxUsernameLength
	}
	if l.MaxPasswordLength == 0 {
		l.MaxPasswordLength = DefaultMaxPasswordLength
	}
	if l.MaxReplyLines == 0 {
		l.MaxReplyLines = DefaultMaxReplyLines
	}
	if l.UsernameChars == "" {
		l.UsernameChars = DefaultUsernameChars
	}
	return l
}

// validate reports the first limit that is out of range.
func (l Limits) validate() error {
	checks := []struct {
		name     string
		v, limit int
	}{
		{"max_line_length", l.MaxLineLength, maxLineLengthCap},
		{"max_username_length", l.MaxUsernameLength, maxLineLengthCap},
		{"max_password_length", l.MaxPasswordLength, maxLineLengthCap},
		{"max_reply_lines", l.MaxReplyLines, maxReplyLinesCap},
	}
	for _, c := range checks {
		if c.v < 0 || c.v > c.limit {
			return fmt.Errorf("limits: %s %d out of range 0..%d (0 = default)", c.name, c.v, c.limit)
		}
	}
	if !utf8.ValidString(l.UsernameChars) {
		return fmt.Errorf("limits: username_chars is not valid UTF-8")
	}
	for _, r := range l.UsernameChars {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("limits: username_chars contains %q (only printable characters other than space)", r)
		}
	}
	return nil
}

// checkUser returns why name is not an acceptable user name under l (defaults applied), or "".
func (l Limits) checkUser(name string) string {
	if n := len(name); n > l.MaxUsernameLength {
		return fmt.Sprintf("user name of %d bytes exceeds max_username_length %d", n, l.MaxUsernameLength)
	}
	if !utf8.ValidString(name) {
		return "user name is not valid UTF-8"
	}
	for _, r := range name {
		if !strings.ContainsRune(l.UsernameChars, r) {
			return fmt.Sprintf("user name contains %q, not in username_chars", r)
		}
	}
	return ""
}

// checkPassword returns why pass is not an acceptable password under l, or "". The
// password itself never appears in the result.
func (l Limits) checkPassword(pass string) string {
	if n := len(pass); n > l.MaxPasswordLength {
		return fmt.Sprintf("password of %d bytes exceeds max_password_length %d", n, l.MaxPasswordLength)
	}
	return ""
}
