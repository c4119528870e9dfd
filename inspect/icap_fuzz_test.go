package inspect

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The wire format's pure functions: the fuzz target and table tests.

// TestICAPWire: what the parsers make of responses, and what they refuse.
func TestICAPWire(t *testing.T) {
	const ok = "ICAP/1.0 200 OK\r\n"
	for _, tc := range []struct {
		name, in string
		threat   string // "" none
		err      string
	}{
		{"virus id", ok + "X-Virus-ID: Win.Test\r\n\r\n", "Win.Test", ""},
		{"infection without threat", ok + "X-Infection-Found: Type=0; Resolution=2;\r\n\r\n", "Type=0; Resolution=2;", ""},
		{"violations, one line", ok + "X-Violations-Found: 1\r\n\tfile\r\n\r\n", "file", ""},
		{"violations, count only", ok + "X-Violations-Found: 1\r\n\r\n", "ICAP server reports violations: 1", ""},
		{"empty virus id", ok + "X-Virus-ID:\r\n\r\n", "ICAP server found an unnamed threat", ""},
		{"huge header", ok + "X-A: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", "", "larger than 65536"},
		{"many headers", ok + strings.Repeat("X-A: b\r\n", 10<<10) + "\r\n", "", "larger than 65536"},
		{"huge encapsulated", ok + "Encapsulated: res-hdr=0, res-body=70000\r\n\r\n", "", "larger than 65536"},
		{"body not last", ok + "Encapsulated: res-body=0, res-hdr=5\r\n\r\n", "", "malformed Encapsulated"},
		{"offsets decrease", ok + "Encapsulated: req-hdr=9, res-body=3\r\n\r\n", "", "malformed Encapsulated"},
		{"no body entry", ok + "Encapsulated: res-hdr=0\r\n\r\n", "", "lists no body"},
		{"bad HTTP", ok + "Encapsulated: res-hdr=0, res-body=6\r\n\r\nHTTP/\r\n", "", "encapsulated HTTP response"},
		{"cut", ok + "X-A: b\r\n", "", "unexpected EOF"},
		{"status", "ICAP/1.0 2000 OK\r\n\r\n", "", "malformed status line"},
		{"folded first", ok + " x\r\n\r\n", "", "malformed header line"},
	} {
		r, err := readICAPResponse(bufio.NewReader(strings.NewReader(tc.in)))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.err)
			}
			continue
		}
		if th, found := r.threat(); err != nil || th != tc.threat || !found {
			t.Errorf("%s: threat %q (%v), want %q", tc.name, th, err, tc.threat)
		}
	}
	for in, want := range map[string]string{
		"5\r\nabcde\r\n0; ieof\r\n\r\n":    "",
		"5\r\nabc":                         "unexpected EOF",
		"5\r\nabcdeXY0\r\n\r\n":            "not followed by CRLF",
		"zz\r\n":                           "malformed chunk size",
		"-1\r\n":                           "malformed chunk size",
		strings.Repeat("1", 5000) + "\r\n": "larger than",
		"0\r\nX: y\r\n":                    "trailer",
	} {
		n, ieof, err := readChunked(bufio.NewReader(strings.NewReader(in)))
		if want == "" && (err != nil || n != 5 || !ieof) || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("chunked %.20q: %d %v %v, want %q", in, n, ieof, err, want)
		}
	}
	// The URL of an object: its path escaped, the host bracketed, a port other than 21.
	for server, want := range map[string]string{
		"[2001:db8::2]:2121":  "ftp://[2001:db8::2]:2121/d/%0D%0AX:%20y",
		"[::ffff:1.2.3.4]:21": "ftp://1.2.3.4/d/%0D%0AX:%20y",
	} {
		if u, _ := ftpURL(&Object{Arg: "d/\r\nX: y", Server: netip.MustParseAddrPort(server)}); u != want {
			t.Errorf("%s: %s, want %s", server, u, want)
		}
	}
	if _, err := parseOptions(&icapResponse{Status: 200, Header: map[string][]string{"Preview": {"x"}}}, time.Now()); err == nil {
		t.Error("a malformed Preview is no error")
	}
}

// TestNewICAP: the URLs it takes and those it refuses.
func TestNewICAP(t *testing.T) {
	for raw, want := range map[string]string{
		"icap://scanner/avscan":                        "icap://scanner:1344/avscan",
		"icap://10.0.0.1:11344/virus_scan?mode=simple": "icap://10.0.0.1:11344/virus_scan?mode=simple",
		"icap://[2001:db8::1]/avscan":                  "icap://[2001:db8::1]:1344/avscan",
	} {
		h, err := NewICAP("av", raw, time.Second)
		if err != nil || h.uri != want || h.Name() != "av" || h.HookTimeout() != time.Second || h.MaxIdle != DefaultICAPMaxIdle {
			t.Errorf("%s: %+v %v, want URI %s", raw, h, err, want)
		}
	}
	for raw, want := range map[string]string{
		"http://scanner/avscan":   "scheme must be icap://",
		"icaps://scanner/avscan":  "scheme must be icap://",
		"icap:///avscan":          "names no host",
		"icap://scanner":          "names no service",
		"icap://scanner:0/avscan": "bad port",
		"icap://scanner:x/avscan": "invalid port",
		"scanner:1344":            "scheme must be icap://",
	} {
		if _, err := NewICAP("av", raw, 0); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", raw, err, want)
		}
	}
}

// FuzzICAPResponse: the response parsers never panic, never read past their bounds, and
// count no more body bytes than there are.
func FuzzICAPResponse(f *testing.F) {
	for _, seed := range []string{
		"ICAP/1.0 204 Unmodified\r\nServer: C-ICAP/0.5.10\r\nISTag: \"CI0001-1\"\r\nEncapsulated: null-body=0\r\n\r\n",
		"ICAP/1.0 100 Continue\r\n\r\n",
		"ICAP/1.0 200 OK\r\nMethods: RESPMOD, REQMOD\r\nPreview: 1024\r\nAllow: 204\r\nOptions-TTL: 3600\r\nEncapsulated: null-body=0\r\n\r\n",
		"ICAP/1.0 200 OK\r\nX-Infection-Found: Type=0; Resolution=2; Threat=Eicar-Test-Signature-NDB.UNOFFICIAL;\r\n" +
			"X-Violations-Found: 1\r\n\teicar.com\r\n\tEicar-Test-Signature-NDB.UNOFFICIAL\r\n\t0\r\n\t0\r\n" +
			"Encapsulated: res-hdr=0, res-body=42\r\n\r\nHTTP/1.1 403 Forbidden\r\nServer: C-ICAP\r\n\r\n" +
			"a\r\n<html></a>\r\n0\r\n\r\n",
		"ICAP/1.0 200 OK\r\nEncapsulated: req-hdr=0, res-hdr=18, res-body=37\r\n\r\nGET / HTTP/1.1\r\n\r\nHTTP/1.1 200 OK\r\n\r\n3; x=y\r\nabc\r\n0; ieof\r\nTrailer: 1\r\n\r\n",
		"ICAP/1.0 500 Server Error\r\nConnection: close\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		r, err := readICAPResponse(br)
		if err != nil {
			return
		}
		if r.Status < 100 || r.Status > 999 || r.Header == nil {
			t.Fatalf("status %d, header %v", r.Status, r.Header)
		}
		r.threat()
		r.closes()
		parseOptions(r, time.Now())
		if !r.Body {
			return
		}
		n, _, err := readChunked(br)
		if n < 0 || n > int64(len(data)) {
			t.Fatalf("counted %d body bytes of %d input bytes (%v)", n, len(data), err)
		}
		if err == nil {
			judge(r, n, n+1)
		}
	})
}
