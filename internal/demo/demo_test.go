package main

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPasvPort(t *testing.T) {
	for _, tc := range []struct {
		reply string
		want  int
		ok    bool
	}{
		{"227 Entering Passive Mode (203,0,113,2,120,254).", 30974, true},
		{"227 =203,0,113,2,0,21 (203, 0, 113, 2, 4, 1)", 1025, true},
		{"227 Entering Passive Mode", 0, false},
		{"227 (1,2,3,4,5)", 0, false},
		{"227 (1,2,3,4,256,1)", 0, false},
		{"227 )1,2,3,4,5,6(", 0, false},
	} {
		got, err := pasvPort(tc.reply)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("pasvPort(%q) = %d, %v; want %d, ok %v", tc.reply, got, err, tc.want, tc.ok)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestLegs(t *testing.T) {
	var names []string
	for _, l := range legs() {
		names = append(names, l.String()+"="+l.slug())
	}
	want := "IPv4 PASV=v4-pasv IPv4 EPSV=v4-epsv IPv4 PORT=v4-port IPv4 EPRT=v4-eprt IPv6 EPSV=v6-epsv IPv6 EPRT=v6-eprt"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("legs = %s, want %s", got, want)
	}
}

func TestCurlFailure(t *testing.T) {
	base := errors.New("exit status 30\nstdout:\nstderr: lots")
	tr := "< 230 Login successful.\n> PORT 1,2,3,4,5,6\n< 500 Illegal PORT command.\ncurl: (30) failed\n"
	err := curlFailure("IPv4 PORT RETR x", base, tr)
	summary, detail := summarize(err)
	if want := "IPv4 PORT RETR x: server replied 500 Illegal PORT command.; curl: (30) failed"; summary != want {
		t.Errorf("summary %q, want %q", summary, want)
	}
	if !strings.Contains(detail, "> PORT 1,2,3,4,5,6") {
		t.Errorf("detail lacks the transcript: %q", detail)
	}
	if !errors.Is(err, base) {
		t.Error("curlFailure does not wrap the curl error")
	}
}

func TestSummarize(t *testing.T) {
	s, d := summarize(errors.New("first\nsecond\nthird"))
	if s != "first" || d != "second\nthird" {
		t.Errorf("summarize = %q, %q", s, d)
	}
	s, _ = summarize(errors.New(strings.Repeat("x", 500)))
	if len([]rune(s)) != maxSummary+1 {
		t.Errorf("long summary not shortened: %d runes", len([]rune(s)))
	}
	s, _ = summarize(errors.New(strings.Repeat("é", 200)))
	if !utf8.ValidString(s) {
		t.Errorf("shortened summary is not valid UTF-8: %q", s)
	}
}

func TestMib(t *testing.T) {
	if got := mib(8 << 20); got != "8 MiB" {
		t.Errorf("mib(8 MiB) = %q", got)
	}
	if got := mib(3<<19 + 0); got != "1.5 MiB" {
		t.Errorf("mib(1.5 MiB) = %q", got)
	}
}
