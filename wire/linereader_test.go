package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// result is one ReadLine outcome.
type result struct {
	line string
	err  error
}

// readLines calls ReadLine until io.EOF or io.ErrUnexpectedEOF (at most limit times) and
// returns every outcome, the final one included.
func readLines(t *testing.T, lr *LineReader, limit int) []result {
	t.Helper()
	var out []result
	for range limit {
		l, err := lr.ReadLine()
		out = append(out, result{l, err})
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out
		}
	}
	t.Fatalf("no EOF after %d ReadLine calls", limit)
	return nil
}

func TestLineReader(t *testing.T) {
	eof := result{"", io.EOF}
	ueof := result{"", io.ErrUnexpectedEOF}
	tests := []struct {
		name string
		in   string
		max  int
		want []result
	}{
		{"empty stream", "", 10, []result{eof}},
		{"one line", "USER bob\r\n", 10, []result{{"USER bob", nil}, eof}},
		{"two lines", "USER bob\r\nPASS x\r\n", 10, []result{{"USER bob", nil}, {"PASS x", nil}, eof}},
		{"bare LF ends a line", "NOOP\nQUIT\r\n", 10, []result{{"NOOP", nil}, {"QUIT", nil}, eof}},
		{"empty lines", "\r\n\n", 10, []result{{"", nil}, {"", nil}, eof}},
		{"exactly max", "0123456789\r\n", 10, []result{{"0123456789", nil}, eof}},
		{"max plus one", "0123456789A\r\nNOOP\r\n", 10, []result{{"", ErrLineTooLong}, {"NOOP", nil}, eof}},
		{"far too long", strings.Repeat("x", 10000) + "\r\nNOOP\r\n", 10, []result{{"", ErrLineTooLong}, {"NOOP", nil}, eof}},
		{"NUL", "RETR a\x00b\r\nNOOP\r\n", 10, []result{{"", ErrNUL}, {"NOOP", nil}, eof}},
		{"bare CR", "RETR a\rb\r\nNOOP\r\n", 10, []result{{"", ErrBareCR}, {"NOOP", nil}, eof}},
		{"CR CR LF", "NOOP\r\r\nQUIT\r\n", 10, []result{{"", ErrBareCR}, {"QUIT", nil}, eof}},
		{"CR NUL is bare CR first", "A\r\x00\r\nB\n", 10, []result{{"", ErrBareCR}, {"B", nil}, eof}},
		{"NUL then too long: first error wins", "\x00" + strings.Repeat("x", 20) + "\n", 10, []result{{"", ErrNUL}, eof}},
		{"too long then NUL: first error wins", strings.Repeat("x", 20) + "\x00\n", 10, []result{{"", ErrLineTooLong}, eof}},
		{"IAC IP IAC DM before ABOR", "\xff\xf4\xff\xf2ABOR\r\n", 10, []result{{"ABOR", nil}, eof}},
		{"IAC IP, DM taken out of band", "\xff\xf4\xffABOR\r\n", 10, []result{{"ABOR", nil}, eof}},
		{"IAC IP, second IAC taken out of band (BSD ftp)", "\xff\xf4\xf2ABOR\r\n", 10, []result{{"ABOR", nil}, eof}},
		{"DM byte elsewhere is data", "\xf2A\xff\xf1\xf2\r\n", 10, []result{{"\xf2A\xf2", nil}, eof}},
		{"IAC IAC is 0xFF", "STOR \xff\xffx\r\n", 10, []result{{"STOR \xffx", nil}, eof}},
		{"IAC NOP AYT GA removed", "NO\xff\xf1\xff\xf6OP\xff\xf9\r\n", 10, []result{{"NOOP", nil}, eof}},
		{"IAC WILL/DO x removed", "\xff\xfb\x01NO\xff\xfd\xffOP\r\n", 10, []result{{"NOOP", nil}, eof}},
		{"IAC DONT LF swallows the LF as option", "A\xff\xfe\nB\n", 10, []result{{"AB", nil}, eof}},
		{"IAC between CR and LF", "NOOP\r\xff\xf1\n", 10, []result{{"NOOP", nil}, eof}},
		{"IAC IAC between CR and LF is bare CR", "A\r\xff\xff\nB\n", 10, []result{{"", ErrBareCR}, {"B", nil}, eof}},
		{"IAC does not count toward max", "\xff\xf4\xff\xf20123456789\r\n", 10, []result{{"0123456789", nil}, eof}},
		{"IAC IAC counts one", strings.Repeat("\xff\xff", 10) + "\n", 10, []result{{strings.Repeat("\xff", 10), nil}, eof}},
		{"IAC flood exceeds raw bound", strings.Repeat("\xff\xf1", 100) + "A\nB\n", 10, []result{{"", ErrLineTooLong}, {"B", nil}, eof}},
		{"EOF mid-line", "NOOP", 10, []result{ueof}},
		{"EOF after line then partial", "NOOP\r\nQU", 10, []result{{"NOOP", nil}, ueof}},
		{"EOF after CR", "NOOP\r", 10, []result{ueof}},
		{"EOF after IAC", "\xff", 10, []result{ueof}},
		{"EOF while discarding", strings.Repeat("x", 20), 10, []result{ueof}},
		{"high bytes kept", "CWD \xc3\xa9\r\n", 10, []result{{"CWD \xc3\xa9", nil}, eof}},
		{"zero max means default", strings.Repeat("x", DefaultMaxLine) + "\n", 0, []result{{strings.Repeat("x", DefaultMaxLine), nil}, eof}},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				lr := NewLineReader(wrap(strings.NewReader(tt.in)), tt.max)
				got := readLines(t, lr, len(tt.want)+5)
				if len(got) != len(tt.want) {
					t.Fatalf("got %d results %v, want %d %v", len(got), got, len(tt.want), tt.want)
				}
				for i := range got {
					if got[i].line != tt.want[i].line || !errors.Is(got[i].err, tt.want[i].err) ||
						(tt.want[i].err == nil) != (got[i].err == nil) {
						t.Errorf("result %d = (%q, %v), want (%q, %v)", i, got[i].line, got[i].err, tt.want[i].line, tt.want[i].err)
					}
				}
				if max := max(tt.max, 1); tt.max > 0 && cap(lr.buf) > max {
					t.Errorf("line buffer grew to %d bytes, max %d", cap(lr.buf), max)
				}
			})
		}
	}
}

// TestLineReaderEOFIsSticky checks that ReadLine keeps returning io.EOF.
func TestLineReaderEOFIsSticky(t *testing.T) {
	lr := NewLineReader(strings.NewReader("A"), 10)
	if _, err := lr.ReadLine(); err != io.ErrUnexpectedEOF {
		t.Fatalf("first: %v, want io.ErrUnexpectedEOF", err)
	}
	for i := range 2 {
		if _, err := lr.ReadLine(); err != io.EOF {
			t.Fatalf("call %d: %v, want io.EOF", i, err)
		}
	}
}

// errOnceReader returns data, then one error, then more data.
type errOnceReader struct {
	parts [][]byte
	err   error
	i     int
}

func (r *errOnceReader) Read(p []byte) (int, error) {
	if r.i >= len(r.parts) {
		return 0, io.EOF
	}
	part := r.parts[r.i]
	r.i++
	if part == nil {
		return 0, r.err
	}
	return copy(p, part), nil
}

// TestLineReaderResumesAfterError checks that a read error (a timeout) mid-line keeps the
// partial line, that Buffered counts it, and that the next ReadLine completes it.
func TestLineReaderResumesAfterError(t *testing.T) {
	timeout := errors.New("i/o timeout")
	r := &errOnceReader{parts: [][]byte{[]byte("RE"), nil, []byte("TR a\r\nNOOP\r\n")}, err: timeout}
	lr := NewLineReader(r, 64)
	if _, err := lr.ReadLine(); !errors.Is(err, timeout) {
		t.Fatalf("first ReadLine: %v, want wrapped timeout", err)
	}
	if got := lr.Buffered(); got != 2 {
		t.Errorf("Buffered after partial line = %d, want 2", got)
	}
	for _, want := range []string{"RETR a", "NOOP"} {
		got, err := lr.ReadLine()
		if err != nil || got != want {
			t.Fatalf("ReadLine = (%q, %v), want %q", got, err, want)
		}
	}
}

func TestLineReaderBuffered(t *testing.T) {
	lr := NewLineReader(strings.NewReader("AUTH TLS\r\n\x16\x03\x01"), 64)
	if got := lr.Buffered(); got != 0 {
		t.Fatalf("Buffered before reading = %d, want 0", got)
	}
	if l, err := lr.ReadLine(); err != nil || l != "AUTH TLS" {
		t.Fatalf("ReadLine = (%q, %v)", l, err)
	}
	if got := lr.Buffered(); got != 3 {
		t.Errorf("Buffered after line = %d, want 3 (the early TLS bytes)", got)
	}
}

func TestAppendTelnet(t *testing.T) {
	got := appendTelnet(nil, "a\xffb")
	if want := []byte("a\xff\xffb\r\n"); !bytes.Equal(got, want) {
		t.Errorf("appendTelnet = %q, want %q", got, want)
	}
}
