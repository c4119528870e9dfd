package inspect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeReq is what the fake ICAP server received in one request, parsed independently of
// the client's code.
type fakeReq struct {
	Line    string // the request line
	Header  textproto.MIMEHeader
	HTTP    map[string]string // encapsulated sections by name
	Body    []byte            // the whole body: preview and rest
	Preview bool
	IEOF    bool
}

// fakeICAP is an ICAP server on 127.0.0.1 that parses requests strictly and answers as
// its fields say.
type fakeICAP struct {
	t  *testing.T
	ln net.Listener

	optionsAnswer string // the OPTIONS response ("": 200 with Methods both, Preview 1024)
	// preview answers a request after its preview ("": 100 Continue).
	preview func(r *fakeReq) string
	// final answers a request whose body is whole ("": 204).
	final func(r *fakeReq) string
	// closeAfter closes each connection after one response (a stale keep-alive).
	closeAfter bool
	// silent never answers.
	silent bool

	mu               sync.Mutex
	accepts, options int
	reqs             []*fakeReq
	wg               sync.WaitGroup
}

func newFakeICAP(t *testing.T, configure func(*fakeICAP)) *fakeICAP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeICAP{t: t, ln: ln}
	if configure != nil {
		configure(s)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakeICAP) url() string { return "icap://" + s.ln.Addr().String() + "/avscan?mode=simple" }

func (s *fakeICAP) serve() {
	defer s.wg.Done()
	for { // the connections end when the client closes them (ICAP.Close, failures)
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.accepts++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.handle(c)
		}()
	}
}

// handle serves one connection's requests.
func (s *fakeICAP) handle(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		r, err := s.read(br, c)
		if err != nil {
			var ne net.Error
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &ne) {
				s.t.Errorf("fake ICAP server: %v", err)
			}
			return
		}
		s.mu.Lock()
		if strings.HasPrefix(r.Line, "OPTIONS ") {
			s.options++
		} else {
			s.reqs = append(s.reqs, r)
		}
		s.mu.Unlock()
		if s.silent {
			io.Copy(io.Discard, br)
			return
		}
		if _, err := io.WriteString(c, s.answer(r)); err != nil || s.closeAfter {
			return
		}
	}
}

// answer is the response to a complete request.
func (s *fakeICAP) answer(r *fakeReq) string {
	switch {
	case strings.HasPrefix(r.Line, "OPTIONS "):
		if s.optionsAnswer != "" {
			return s.optionsAnswer
		}
		return "ICAP/1.0 200 OK\r\nMethods: RESPMOD, REQMOD\r\nPreview: 1024\r\nAllow: 204\r\nTransfer-Preview: *\r\nEncapsulated: null-body=0\r\n\r\n"
	case r.Preview && !r.IEOF && s.preview != nil:
		return s.preview(r)
	case s.final != nil:
		return s.final(r)
	}
	return "ICAP/1.0 204 Unmodified\r\nEncapsulated: null-body=0\r\n\r\n"
}

// read reads one request: its head, its encapsulated HTTP headers (checking their
// offsets) and its chunked body, answering 100 Continue after a preview when told to.
func (s *fakeICAP) read(br *bufio.Reader, c net.Conn) (*fakeReq, error) {
	tr := textproto.NewReader(br)
	line, err := tr.ReadLine()
	if err != nil {
		return nil, err
	}
	h, err := tr.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	r := &fakeReq{Line: line, Header: h, HTTP: map[string]string{}}
	if !strings.HasSuffix(line, " ICAP/1.0") || h.Get("Host") == "" {
		return nil, fmt.Errorf("bad request line %q or no Host", line)
	}
	var parts []string
	var offs []int
	for _, e := range strings.Split(h.Get("Encapsulated"), ", ") {
		name, off, _ := strings.Cut(e, "=")
		n, err := strconv.Atoi(off)
		if err != nil {
			return nil, fmt.Errorf("Encapsulated %q", h.Get("Encapsulated"))
		}
		parts, offs = append(parts, name), append(offs, n)
	}
	last := len(parts) - 1
	hdrs := make([]byte, offs[last])
	if _, err := io.ReadFull(br, hdrs); err != nil {
		return nil, err
	}
	for k := range last {
		sect := string(hdrs[offs[k]:offs[k+1]])
		if !strings.HasSuffix(sect, "\r\n\r\n") || strings.Count(sect, "\r\n\r\n") != 1 {
			return nil, fmt.Errorf("section %s at wrong offsets: %q", parts[k], sect)
		}
		r.HTTP[parts[k]] = sect
	}
	if parts[last] == "null-body" {
		return r, nil
	}
	r.Preview = h.Get("Preview") != ""
	if r.Body, r.IEOF, err = fakeChunks(br); err != nil {
		return nil, err
	}
	if r.Preview && !r.IEOF && s.preview == nil {
		if _, err := io.WriteString(c, "ICAP/1.0 100 Continue\r\n\r\n"); err != nil {
			return nil, err
		}
		rest, _, err := fakeChunks(br)
		if err != nil {
			return nil, err
		}
		r.Body = append(r.Body, rest...)
		r.Preview = false
	}
	return r, nil
}

// fakeChunks reads a chunked body up to its last chunk.
func fakeChunks(br *bufio.Reader) ([]byte, bool, error) {
	var body []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, false, err
		}
		size, ext, _ := strings.Cut(strings.TrimSuffix(line, "\r\n"), ";")
		n, err := strconv.ParseInt(size, 16, 64)
		if err != nil {
			return nil, false, fmt.Errorf("chunk size %q", line)
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, false, err
		}
		if string(chunk[n:]) != "\r\n" {
			return nil, false, fmt.Errorf("chunk of %d not followed by CRLF", n)
		}
		if n == 0 {
			return body, strings.TrimSpace(ext) == "ieof", nil
		}
		body = append(body, chunk[:n]...)
	}
}

// stats returns the connections accepted, the OPTIONS received and the other requests.
func (s *fakeICAP) stats() (accepts, options int, reqs []*fakeReq) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts, s.options, slices.Clone(s.reqs)
}

// answer200 is a 200 with an HTTP response of the given status line, headers and body.
func answer200(icapHdrs, status string, body []byte) string {
	res := status + "\r\nContent-Type: text/html\r\n\r\n"
	enc := fmt.Sprintf("res-hdr=0, res-body=%d", len(res))
	chunks := "0\r\n\r\n"
	if len(body) > 0 {
		chunks = fmt.Sprintf("%x\r\n%s\r\n", len(body), body) + chunks
	}
	return "ICAP/1.0 200 OK\r\nISTag: \"x\"\r\n" + icapHdrs + "Encapsulated: " + enc + "\r\n\r\n" + res + chunks
}

// testObject is the object the tests inspect.
func testObject(upload bool) *Object {
	return &Object{
		Command: "RETR", Arg: "/pub/a file?#%.bin", User: "alice", Upload: upload,
		Client: netip.MustParseAddrPort("198.51.100.2:40000"), Server: netip.MustParseAddrPort("203.0.113.2:21"),
	}
}

func newTestICAP(t *testing.T, s *fakeICAP, timeout time.Duration) *ICAP {
	t.Helper()
	h, err := NewICAP("av", s.url(), timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// pattern returns n bytes of a recognisable pattern.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}
