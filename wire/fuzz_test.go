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

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER bob", "pass x y", "NOOP", "LIST ", "", " X", "ABCDEFGHI", "RETR a\r\nDELE b", "STOR \xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			if !errors.Is(err, ErrBadCommand) {
				t.Fatalf("error %v does not wrap ErrBadCommand", err)
			}
			return
		}
		if len(c.Verb) < 1 || len(c.Verb) > MaxVerbLen || strings.ToUpper(c.Verb) != c.Verb {
			t.Fatalf("bad verb %q", c.Verb)
		}
		c2, err := ParseCommand(c.String())
		if err != nil || c2 != c {
			t.Fatalf("String round trip: %+v -> %q -> %+v, %v", c, c.String(), c2, err)
		}
		// Through the wire: Bytes, then a LineReader, then ParseCommand.
		l, err := NewLineReader(bytes.NewReader(c.Bytes()), len(line)+1).ReadLine()
		if err != nil {
			t.Fatalf("wire round trip of %+v: %v", c, err)
		}
		if c3, err := ParseCommand(l); err != nil || c3 != c {
			t.Fatalf("wire round trip: %+v -> %q -> %+v, %v", c, c.Bytes(), c3, err)
		}
	})
}

func FuzzParsePORT(f *testing.F) {
	for _, s := range []string{"198,51,100,2,4,1", " 1 , 2,3 ,4,0,1 ", "198,51,100,2,0,0", "1,2,3,4,5", "1,2,3,256,4,1", "001,2,3,4,5,6", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParsePORT(arg)
		if err != nil {
			if !errors.Is(err, ErrBadAddress) {
				t.Fatalf("error %v does not wrap ErrBadAddress", err)
			}
			return
		}
		if !ap.Addr().Is4() || ap.Port() == 0 {
			t.Fatalf("ParsePORT(%q) = %v", arg, ap)
		}
		if ap2, err := ParsePORT(FormatPORT(ap)); err != nil || ap2 != ap {
			t.Fatalf("round trip %v -> %q -> %v, %v", ap, FormatPORT(ap), ap2, err)
		}
	})
}

func FuzzParsePASVReply(f *testing.F) {
	for _, s := range []string{"Entering Passive Mode (198,51,100,1,4,1).", "=198,51,100,1,4,1", "(1, 2 ,3,4,5,6)", "1,2,3,4,5,6,7 (1,2,3,4,5,6)", "(1,2,3,4,0,0)", "(1,2,3,4,5,1000)", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ap, err := ParsePASVReply(text)
		if err != nil {
			if !errors.Is(err, ErrBadAddress) {
				t.Fatalf("error %v does not wrap ErrBadAddress", err)
			}
			return
		}
		if !ap.Addr().Is4() || ap.Port() == 0 {
			t.Fatalf("ParsePASVReply(%q) = %v", text, ap)
		}
		if ap2, err := ParsePASVReply(FormatPASVReply(ap)); err != nil || ap2 != ap {
			t.Fatalf("round trip %v -> %q -> %v, %v", ap, FormatPASVReply(ap), ap2, err)
		}
		// The whole 227 line parses the same.
		if ap3, err := ParsePASVReply("227 " + FormatPASVReply(ap)); err != nil || ap3 != ap {
			t.Fatalf("227 line round trip %v -> %v, %v", ap, ap3, err)
		}
	})
}

func FuzzParseEPRT(f *testing.F) {
	for _, s := range []string{"|1|198.51.100.2|6446|", "|2|2001:db8::2|6446|", "!2!::ffff:1.2.3.4!1!", "|2|fe80::1%eth0|1|", "|1|1.2.3.4|0|", "2122.2.2.2252", "||||", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParseEPRT(arg)
		if err != nil {
			if !errors.Is(err, ErrBadAddress) {
				t.Fatalf("error %v does not wrap ErrBadAddress", err)
			}
			return
		}
		a := ap.Addr()
		if ap.Port() == 0 || a.Is4In6() || a.Zone() != "" || !a.IsValid() {
			t.Fatalf("ParseEPRT(%q) = %v", arg, ap)
		}
		if ap2, err := ParseEPRT(FormatEPRT(ap)); err != nil || ap2 != ap {
			t.Fatalf("round trip %v -> %q -> %v, %v", ap, FormatEPRT(ap), ap2, err)
		}
	})
}

func FuzzParseEPSVReply(f *testing.F) {
	for _, s := range []string{"Entering Extended Passive Mode (|||6446|)", "(!!!1!)", "((|||2|)", "(|||0|)", "(|||65536|)", "(1111)", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParseEPSVReply(text)
		if err != nil {
			if !errors.Is(err, ErrBadAddress) {
				t.Fatalf("error %v does not wrap ErrBadAddress", err)
			}
			return
		}
		if p == 0 {
			t.Fatalf("ParseEPSVReply(%q) = 0", text)
		}
		if p2, err := ParseEPSVReply("229 " + FormatEPSVReply(p)); err != nil || p2 != p {
			t.Fatalf("round trip %d -> %d, %v", p, p2, err)
		}
	})
}

// drainLines reads every line of data with a LineReader of the given max.
func drainLines(t *testing.T, r io.Reader, max, limit int) []result {
	t.Helper()
	lr := NewLineReader(r, max)
	var out []result
	for range limit {
		l, err := lr.ReadLine()
		if err == nil && cap(lr.buf) > max {
			t.Fatalf("line buffer capacity %d > max %d", cap(lr.buf), max)
		}
		out = append(out, result{l, err})
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out
		}
		if err != nil && !errors.Is(err, ErrLineTooLong) && !errors.Is(err, ErrNUL) && !errors.Is(err, ErrBareCR) {
			t.Fatalf("unexpected error %v", err)
		}
	}
	t.Fatalf("no EOF after %d lines", limit)
	return nil
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("USER bob\r\nPASS x\r\n"), uint8(16))
	f.Add([]byte("\xff\xf4\xff\xf2ABOR\r\n"), uint8(8))
	f.Add([]byte("\xff\xfb\x01A\xff\xffB\xff\nC\r\rD\x00\n"), uint8(4))
	f.Add([]byte("0123456789\nabc"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, max8 uint8) {
		max := int(max8%64) + 1
		limit := len(data) + 2
		got := drainLines(t, bytes.NewReader(data), max, limit)
		if one := drainLines(t, iotest.OneByteReader(bytes.NewReader(data)), max, limit); !slices.Equal(one, got) {
			t.Fatalf("one-byte reads differ:\n%v\n%v", one, got)
		}
		var wire []byte
		var lines []string
		for _, r := range got {
			if r.err != nil {
				continue
			}
			if len(r.line) > max || strings.ContainsAny(r.line, "\r\n\x00") {
				t.Fatalf("bad line %q (max %d)", r.line, max)
			}
			lines = append(lines, r.line)
			wire = appendTelnet(wire, r.line)
		}
		// Encoding the good lines and reading them back gives the same lines.
		back := drainLines(t, bytes.NewReader(wire), max, len(lines)+2)
		if len(back) != len(lines)+1 || back[len(lines)].err != io.EOF {
			t.Fatalf("read back %v from %q", back, wire)
		}
		for i, l := range lines {
			if back[i].err != nil || back[i].line != l {
				t.Fatalf("line %d read back as %q, %v; want %q", i, back[i].line, back[i].err, l)
			}
		}
	})
}

// drainReplies reads replies until the first error.
func drainReplies(r io.Reader, maxLine, maxLines, limit int) ([]Reply, error) {
	rr := NewReplyReader(r, maxLine, maxLines)
	var out []Reply
	for range limit {
		rep, err := rr.ReadReply()
		if err != nil {
			return out, err
		}
		out = append(out, rep)
	}
	return out, nil
}

func equalReplies(a, b []Reply) bool {
	return slices.EqualFunc(a, b, func(x, y Reply) bool { return x.Code == y.Code && slices.Equal(x.Lines, y.Lines) })
}

func FuzzReplyReader(f *testing.F) {
	f.Add([]byte("220 Ready\r\n"))
	f.Add([]byte("211-Features:\r\n EPSV\r\n220 x\r\n211 End\r\n200\r\n"))
	f.Add([]byte("123-a\n\xff\xff\xff\xf1b\n123\n"))
	f.Add([]byte("999 x\r\n"))
	f.Add([]byte("211-a\r\nb\r\nc\r\nd\r\ne\r\nf\r\ng\r\nh\r\ni\r\n211 j\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxLine, maxLines = 32, 8
		limit := len(data) + 2
		got, err := drainReplies(bytes.NewReader(data), maxLine, maxLines, limit)
		if err == nil {
			t.Fatalf("no error after %d replies", limit)
		}
		one, err1 := drainReplies(iotest.OneByteReader(bytes.NewReader(data)), maxLine, maxLines, limit)
		if !equalReplies(one, got) || err1.Error() != err.Error() {
			t.Fatalf("one-byte reads differ: %q %v vs %q %v", one, err1, got, err)
		}
		var wire []byte
		for _, r := range got {
			n := len(r.Lines)
			if r.Code < 100 || r.Code > 599 || n < 1 || n > maxLines || r.Lines[0][:3] != r.Lines[n-1][:3] {
				t.Fatalf("bad reply %d %q", r.Code, r.Lines)
			}
			_ = r.Text()
			wire = append(wire, r.Bytes()...)
		}
		back, err := drainReplies(bytes.NewReader(wire), maxLine, maxLines, len(got)+1)
		if err != io.EOF || !equalReplies(back, got) {
			t.Fatalf("read back %q, %v; want %q", back, err, got)
		}
	})
}

func FuzzNewReply(f *testing.F) {
	f.Add(220, "Ready")
	f.Add(211, "Features:\n EPSV\n211 End\nEnd")
	f.Add(150, "a\r\nb\rc\x00\xff")
	f.Fuzz(func(t *testing.T, code int, text string) {
		code = 100 + (code%500+500)%500
		r := NewReply(code, text)
		back, err := NewReplyReader(bytes.NewReader(r.Bytes()), len(text)+8, len(r.Lines)).ReadReply()
		if err != nil || back.Code != code || !slices.Equal(back.Lines, r.Lines) {
			t.Fatalf("NewReply(%d, %q) = %q read back as %q, %v", code, text, r.Lines, back.Lines, err)
		}
	})
}
