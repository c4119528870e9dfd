package wire

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Errors of [ReplyReader.ReadReply]. After either one the reply stream is out of sync and the
// caller closes the connection.
var (
	// ErrTooManyLines means a multi-line reply had more lines than the reader allows.
	ErrTooManyLines = errors.New("ftp: too many reply lines")
	// ErrBadReply means a reply did not start with a line "ddd", "ddd text" or "ddd-text"
	// with ddd in 100..599.
	ErrBadReply = errors.New("ftp: bad reply")
)

// DefaultMaxReplyLines is the reply line bound used when a reader is created with a
// maximum < 1.
const DefaultMaxReplyLines = 1024

// Reply is one FTP reply (RFC 959 §4.2), single- or multi-line.
type Reply struct {
	// Code is the reply code, 100..599.
	Code int
	// Lines are the wire lines without CRLF, as received (Telnet sequences removed), e.g.
	// ["211-Features:", " EPSV", "211 End"].
	Lines []string
}

// NewReply builds a reply with the given code (100..599) and text. Text containing "\n"
// becomes a multi-line reply "ccc-first", middle lines, "ccc last"; a CR before each "\n" is
// dropped. A middle line that starts with a digit is prefixed with one space, as RFC 959
// asks, so it cannot end the reply early. Any other CR or NUL in text becomes a space.
func NewReply(code int, text string) Reply {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.NewReplacer("\r", " ", "\x00", " ").Replace(text)
	parts := strings.Split(text, "\n")
	c := strconv.Itoa(code)
	lines := make([]string, len(parts))
	for i, p := range parts {
		switch {
		case len(parts) == 1 || i == len(parts)-1:
			lines[i] = c + " " + p
		case i == 0:
			lines[i] = c + "-" + p
		case p != "" && p[0] >= '0' && p[0] <= '9':
			lines[i] = " " + p
		default:
			lines[i] = p
		}
	}
	return Reply{Code: code, Lines: lines}
}

// Text returns the message text without the codes, lines joined with "\n": the code and its
// separator are removed from the first and last lines, and from middle lines that carry
// "ccc-" with the reply's own code.
func (r Reply) Text() string {
	c := strconv.Itoa(r.Code)
	var b strings.Builder
	for i, l := range r.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case l == c && (i == 0 || i == len(r.Lines)-1):
			l = ""
		case len(l) > len(c) && strings.HasPrefix(l, c) && (l[len(c)] == '-' ||
			(l[len(c)] == ' ' && (i == 0 || i == len(r.Lines)-1))):
			l = l[len(c)+1:]
		}
		b.WriteString(l)
	}
	return b.String()
}

// Preliminary reports whether the reply is a positive preliminary reply (1xx), after which
// another reply to the same command follows.
func (r Reply) Preliminary() bool { return r.Code >= 100 && r.Code <= 199 }

// Bytes returns the wire form: each line followed by CRLF, with every 0xFF byte sent as
// Telnet IAC IAC.
func (r Reply) Bytes() []byte {
	n := 0
	for _, l := range r.Lines {
		n += len(l) + 2
	}
	b := make([]byte, 0, n)
	for _, l := range r.Lines {
		b = appendTelnet(b, l)
	}
	return b
}

// String returns the text of the reply's lines joined with "\n", for logs.
func (r Reply) String() string { return strings.Join(r.Lines, "\n") }

// ReplyReader reads FTP replies from a server.
//
// A first line "ddd text" or a bare "ddd" is a single-line reply; "ddd-text" starts a
// multi-line reply that ends at the first later line that is "ddd" or starts with "ddd "
// with the same code. Lines in between may be anything, even "eee text" with another code.
// Lines follow the [LineReader] rules. A LineReader error ends the reply with that error.
type ReplyReader struct {
	lr       *LineReader
	maxLines int
}

// NewReplyReader returns a ReplyReader reading from r, with lines of at most maxLine bytes
// and replies of at most maxLines lines. Bounds below 1 mean [DefaultMaxLine] and
// [DefaultMaxReplyLines]. Unlike a bare [LineReader], it returns a line's framing error
// (too long, NUL, bare CR) as soon as it is seen, without reading on to the line's end: an
// endless line from a hostile server is not read for ever.
func NewReplyReader(r io.Reader, maxLine, maxLines int) *ReplyReader {
	if maxLines < 1 {
		maxLines = DefaultMaxReplyLines
	}
	lr := NewLineReader(r, maxLine)
	lr.stopEarly = true // a framing error ends the session: no need to read to the line's end
	return &ReplyReader{lr: lr, maxLines: maxLines}
}

// Buffered reports how many bytes are buffered but not yet returned, as
// [LineReader.Buffered].
func (rr *ReplyReader) Buffered() int { return rr.lr.Buffered() }

// WaitIdle returns once a reply may be read without waiting for its first byte, as
// [LineReader.WaitIdle].
func (rr *ReplyReader) WaitIdle() error { return rr.lr.WaitIdle() }

// ReadReply reads the next reply. It returns io.EOF at a clean end of stream before a reply,
// io.ErrUnexpectedEOF if the stream ends inside one, an error wrapping [ErrBadReply] for an
// invalid first line and one wrapping [ErrTooManyLines] for an overlong reply. After any error
// the stream may be out of sync: the caller closes the connection.
func (rr *ReplyReader) ReadReply() (Reply, error) {
	first, err := rr.lr.ReadLine()
	if err != nil {
		if err == io.EOF {
			return Reply{}, io.EOF
		}
		return Reply{}, fmt.Errorf("ftp: reply: %w", err)
	}
	code, multi, ok := parseReplyStart(first)
	if !ok {
		return Reply{}, fmt.Errorf("%w: %q", ErrBadReply, truncate(first, 64))
	}
	r := Reply{Code: code, Lines: []string{first}}
	if !multi {
		return r, nil
	}
	end := first[:3]
	for {
		if len(r.Lines) >= rr.maxLines {
			return Reply{}, fmt.Errorf("%w: more than %d in reply %d", ErrTooManyLines, rr.maxLines, code)
		}
		l, err := rr.lr.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, fmt.Errorf("ftp: reply %d: %w", code, err)
		}
		r.Lines = append(r.Lines, l)
		if strings.HasPrefix(l, end) && (len(l) == 3 || l[3] == ' ') {
			return r, nil
		}
	}
}

// parseReplyStart parses the first line of a reply: three digits forming 100..599, then
// end of line, ' ' (single line) or '-' (multi-line).
func parseReplyStart(l string) (code int, multi, ok bool) {
	if len(l) < 3 {
		return 0, false, false
	}
	for i := 0; i < 3; i++ {
		if l[i] < '0' || l[i] > '9' {
			return 0, false, false
		}
	}
	code = int(l[0]-'0')*100 + int(l[1]-'0')*10 + int(l[2]-'0')
	if code < 100 || code > 599 {
		return 0, false, false
	}
	if len(l) == 3 || l[3] == ' ' {
		return code, false, true
	}
	if l[3] == '-' {
		return code, true, true
	}
	return 0, false, false
}

// truncate shortens s to at most n bytes for error messages.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
