package wire

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadCommand is returned by [ParseCommand] for a line that is not a command.
var ErrBadCommand = errors.New("ftp: bad command")

// MaxVerbLen is the longest verb [ParseCommand] accepts. RFC 959 verbs have 3 or 4 letters;
// longer ones are accepted for extensions.
const MaxVerbLen = 8

// Command is one FTP command line.
type Command struct {
	// Verb is the command name, upper-cased ASCII letters only, 1..MaxVerbLen characters.
	Verb string
	// Arg is everything after the first space, unchanged: it may be empty and may contain
	// spaces.
	Arg string
}

// ParseCommand parses one command line without its line ending, as returned by
// [LineReader.ReadLine]. The verb is the text before the first space, upper-cased. It returns
// an error wrapping [ErrBadCommand] for an empty line, a verb that is not 1..MaxVerbLen ASCII
// letters, or a line containing CR, LF or NUL.
func ParseCommand(line string) (Command, error) {
	verb, arg, _ := strings.Cut(line, " ")
	if verb == "" {
		return Command{}, fmt.Errorf("%w: no verb", ErrBadCommand)
	}
	if len(verb) > MaxVerbLen {
		return Command{}, fmt.Errorf("%w: verb longer than %d letters", ErrBadCommand, MaxVerbLen)
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return Command{}, fmt.Errorf("%w: verb %q is not letters", ErrBadCommand, verb)
		}
	}
	if strings.ContainsAny(arg, "\r\n\x00") {
		return Command{}, fmt.Errorf("%w: CR, LF or NUL in argument", ErrBadCommand)
	}
	return Command{Verb: strings.ToUpper(verb), Arg: arg}, nil
}

// String returns the command line without CRLF: "VERB" or "VERB arg". It does not escape
// 0xFF bytes; use [Command.Bytes] for the wire and [Command.Redacted] for logs.
func (c Command) String() string {
	if c.Arg == "" {
		return c.Verb
	}
	return c.Verb + " " + c.Arg
}

// Bytes returns the wire form of the command: String() with every 0xFF byte sent as
// Telnet IAC IAC, followed by CRLF.
func (c Command) Bytes() []byte {
	return appendTelnet(make([]byte, 0, len(c.Verb)+len(c.Arg)+3), c.String())
}

// Sensitive reports whether the argument must not be logged (PASS, ACCT).
func (c Command) Sensitive() bool {
	v, _ := Lookup(c.Verb)
	return v.Sensitive
}

// Redacted returns String(), with the argument replaced by "****" if the command is
// [Command.Sensitive] and has one. It is the form to log.
func (c Command) Redacted() string {
	if c.Sensitive() && c.Arg != "" {
		return c.Verb + " ****"
	}
	return c.String()
}
