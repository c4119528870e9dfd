package wire

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReplyReader(t *testing.T) {
	type want struct {
		code  int
		lines []string
		err   error // checked with errors.Is
	}
	tests := []struct {
		name     string
		in       string
		maxLines int
		want     []want
	}{
		{"single line", "220 Service ready\r\n", 0,
			[]want{{220, []string{"220 Service ready"}, nil}, {err: io.EOF}}},
		{"bare code", "200\r\n", 0,
			[]want{{200, []string{"200"}, nil}, {err: io.EOF}}},
		{"two replies", "150 Opening\r\n226 Done\r\n", 0,
			[]want{{150, []string{"150 Opening"}, nil}, {226, []string{"226 Done"}, nil}, {err: io.EOF}}},
		{"RFC 959 multi-line", "123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n", 0,
			[]want{{123, []string{"123-First line", "Second line", "  234 A line beginning with numbers", "123 The last line"}, nil}, {err: io.EOF}}},
		{"FEAT", "211-Features:\r\n EPSV\r\n MDTM\r\n211 End\r\n", 0,
			[]want{{211, []string{"211-Features:", " EPSV", " MDTM", "211 End"}, nil}, {err: io.EOF}}},
		{"embedded other codes", "230-Welcome\r\n230-more\r\n220 not the end\r\n500 nor this\r\n2301 nor this\r\n230-nor this\r\n230 End\r\n", 0,
			[]want{{230, []string{"230-Welcome", "230-more", "220 not the end", "500 nor this", "2301 nor this", "230-nor this", "230 End"}, nil}, {err: io.EOF}}},
		{"multi-line ends at bare code", "250-a\r\n250\r\nNEXT\r\n", 0,
			[]want{{250, []string{"250-a", "250"}, nil}, {err: ErrBadReply}}},
		{"multi-line with LF only and IAC", "211-a\n\xff\xf1 b\xff\xff\n211 c\n", 0,
			[]want{{211, []string{"211-a", " b\xff", "211 c"}, nil}, {err: io.EOF}}},
		{"exactly max lines", "211-a\r\nb\r\n211 c\r\n", 3,
			[]want{{211, []string{"211-a", "b", "211 c"}, nil}, {err: io.EOF}}},
		{"too many lines", "211-a\r\nb\r\nc\r\n211 d\r\n", 3,
			[]want{{err: ErrTooManyLines}}},
		{"endless multi-line", "211-a\r\n" + strings.Repeat("x\r\n", 5000), 100,
			[]want{{err: ErrTooManyLines}}},
		{"EOF inside multi-line", "211-a\r\nb\r\n", 0,
			[]want{{err: io.ErrUnexpectedEOF}}},
		{"EOF mid-line", "220 Rea", 0,
			[]want{{err: io.ErrUnexpectedEOF}}},
		{"bad: text", "hello\r\n", 0, []want{{err: ErrBadReply}}},
		{"bad: empty line", "\r\n", 0, []want{{err: ErrBadReply}}},
		{"bad: two digits", "22\r\n", 0, []want{{err: ErrBadReply}}},
		{"bad: code 600", "600 x\r\n", 0, []want{{err: ErrBadReply}}},
		{"bad: code 099", "099 x\r\n", 0, []want{{err: ErrBadReply}}},
		{"bad: four digits", "2200 x\r\n", 0, []want{{err: ErrBadReply}}},
		{"bad: no separator", "220x\r\n", 0, []want{{err: ErrBadReply}}},
		{"NUL in reply", "220 a\x00\r\n", 0, []want{{err: ErrNUL}}},
		{"long line", "220 " + strings.Repeat("x", 100) + "\r\n", 0, []want{{err: ErrLineTooLong}}},
		{"bare CR in middle line", "211-a\r\nb\rc\r\n211 d\r\n", 0, []want{{err: ErrBareCR}}},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			rr := NewReplyReader(r, 64, tt.maxLines)
			for i, w := range tt.want {
				got, err := rr.ReadReply()
				if w.err != nil {
					if !errors.Is(err, w.err) {
						t.Errorf("%s: reply %d: err %v, want %v", tt.name, i, err, w.err)
					}
					break
				}
				if err != nil || got.Code != w.code || !slices.Equal(got.Lines, w.lines) {
					t.Errorf("%s: reply %d = %d %q, %v; want %d %q", tt.name, i, got.Code, got.Lines, err, w.code, w.lines)
					break
				}
			}
		}
	}
}

func TestNewReply(t *testing.T) {
	tests := []struct {
		code  int
		text  string
		lines []string
		back  string // Text() of the result
	}{
		{200, "OK", []string{"200 OK"}, "OK"},
		{200, "", []string{"200 "}, ""},
		{211, "Features:\n EPSV\nEnd", []string{"211-Features:", " EPSV", "211 End"}, "Features:\n EPSV\nEnd"},
		{214, "a\r\nb", []string{"214-a", "214 b"}, "a\nb"},
		{230, "hi\n230 sneaky\n230-also\nbye", []string{"230-hi", " 230 sneaky", " 230-also", "230 bye"}, "hi\n 230 sneaky\n 230-also\nbye"},
		{500, "a\rb\x00c", []string{"500 a b c"}, "a b c"},
	}
	for _, tt := range tests {
		r := NewReply(tt.code, tt.text)
		if r.Code != tt.code || !slices.Equal(r.Lines, tt.lines) {
			t.Errorf("NewReply(%d, %q) = %d %q, want %q", tt.code, tt.text, r.Code, r.Lines, tt.lines)
		}
		if got := r.Text(); got != tt.back {
			t.Errorf("NewReply(%d, %q).Text() = %q, want %q", tt.code, tt.text, got, tt.back)
		}
		// The wire form reads back as the same reply.
		got, err := NewReplyReader(bytes.NewReader(r.Bytes()), 0, 0).ReadReply()
		if err != nil || got.Code != r.Code || !slices.Equal(got.Lines, r.Lines) {
			t.Errorf("NewReply(%d, %q) read back as %d %q, %v", tt.code, tt.text, got.Code, got.Lines, err)
		}
	}
}

func TestReplyText(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{[]string{"220 Ready"}, "Ready"},
		{[]string{"220"}, ""},
		{[]string{"220-Welcome", "220-to", "220 FTP"}, "Welcome\nto\nFTP"},
		{[]string{"211-Features:", " EPSV", "211 End"}, "Features:\n EPSV\nEnd"},
		{[]string{"211-x", "500 other", "211"}, "x\n500 other\n"},
	}
	for _, tt := range tests {
		code, _, _ := parseReplyStart(tt.lines[0])
		if got := (Reply{Code: code, Lines: tt.lines}).Text(); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}

func TestReplyPreliminaryAndBytes(t *testing.T) {
	for code, want := range map[int]bool{100: true, 150: true, 199: true, 200: false, 226: false, 550: false} {
		if got := (Reply{Code: code}).Preliminary(); got != want {
			t.Errorf("Reply{%d}.Preliminary() = %v, want %v", code, got, want)
		}
	}
	r := Reply{Code: 257, Lines: []string{"257-\"/a\xffb\" created", "257 ok"}}
	if got, want := r.Bytes(), []byte("257-\"/a\xff\xffb\" created\r\n257 ok\r\n"); !bytes.Equal(got, want) {
		t.Errorf("Bytes() = %q, want %q", got, want)
	}
}

// endless yields "213-" and then x for ever.
type endless struct{ started bool }

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	if !e.started {
		n = copy(p, "213-")
		e.started = true
	}
	for i := n; i < len(p); i++ {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestReplyReaderEndlessLine: an endless reply line fails once the line bound is passed; it
// is not read for ever.
func TestReplyReaderEndlessLine(t *testing.T) {
	rr := NewReplyReader(&endless{}, 512, 10)
	if _, err := rr.ReadReply(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("ReadReply of an endless line: %v, want ErrLineTooLong", err)
	}
}
