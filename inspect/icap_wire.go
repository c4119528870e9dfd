package inspect

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The ICAP wire format (RFC 3507): what the hook sends, pure parsers of what it reads.

// icapHeaderMax bounds an ICAP response's header block, with its encapsulated HTTP
// headers.
const icapHeaderMax = 64 << 10

// icapLineMax bounds a chunk size line (with its extensions).
const icapLineMax = 4 << 10

// icapChunkMax bounds one chunk's announced size.
const icapChunkMax = 1 << 40

// errICAPHeaderTooLarge is a header block past icapHeaderMax.
var errICAPHeaderTooLarge = fmt.Errorf("ICAP response header larger than %d bytes", icapHeaderMax)

// icapResponse is an ICAP response's status and headers, and its HTTP response's status.
type icapResponse struct {
	Status int
	Reason string
	// Header maps canonical names (textproto's) to values; a folded line continues its
	// value after a "\n".
	Header map[string][]string
	// HTTPStatus is the encapsulated HTTP response's status (0: no res-hdr).
	HTTPStatus int
	HTTPReason string
	// Body: a chunked body follows (res-body, req-body or opt-body).
	Body bool
}

// get returns the first value of header name ("" if absent).
func (r *icapResponse) get(name string) string {
	if v := r.Header[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// closes reports whether the server closes the connection after this response.
func (r *icapResponse) closes() bool {
	return strings.EqualFold(strings.TrimSpace(r.get("Connection")), "close")
}

// readLine reads one line ending in "\n", charging its bytes to *left, and returns it
// without its line end. A line past *left is errICAPHeaderTooLarge; an end of input in a
// line is io.ErrUnexpectedEOF.
func readLine(br *bufio.Reader, left *int) (string, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if *left -= len(frag); *left < 0 {
			return "", errICAPHeaderTooLarge
		}
		line = append(line, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return "", noEOF(err)
		}
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// parseStatus parses a status line "PROTO CODE REASON" whose protocol begins with proto.
func parseStatus(line, proto string) (int, string, error) {
	p, rest, _ := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if !strings.HasPrefix(p, proto) || err != nil || len(code) != 3 || n < 100 {
		return 0, "", fmt.Errorf("malformed status line %q", clipText(line))
	}
	return n, strings.TrimSpace(reason), nil
}

// readHeader reads header lines up to the empty line that ends them.
func readHeader(br *bufio.Reader, left *int) (map[string][]string, error) {
	h := map[string][]string{}
	last := ""
	for {
		line, err := readLine(br, left)
		if err != nil {
			return nil, err
		}
		if line == "" {
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' { // folded: continues the last value
			if last == "" {
				return nil, fmt.Errorf("malformed header line %q", clipText(line))
			}
			v := h[last]
			v[len(v)-1] += "\n" + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed header line %q", clipText(line))
		}
		last = textproto.CanonicalMIMEHeaderKey(name)
		h[last] = append(h[last], strings.TrimSpace(value))
	}
}

// encapEntry is one entry of an Encapsulated header: a part's name and its offset.
type encapEntry struct {
	name string
	off  int
}

// parseEncapsulated parses "req-hdr=0, res-hdr=137, res-body=296": known names, offsets
// that never decrease, and one body entry, last.
func parseEncapsulated(v string) ([]encapEntry, error) {
	var out []encapEntry
	for _, part := range strings.Split(v, ",") {
		name, off, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(off)
		known := name == "req-hdr" || name == "res-hdr" || isBody(name)
		if !ok || err != nil || n < 0 || !known || (len(out) > 0 && (n < out[len(out)-1].off || isBody(out[len(out)-1].name))) {
			return nil, fmt.Errorf("malformed Encapsulated header %q", clipText(v))
		}
		out = append(out, encapEntry{name, n})
	}
	if !isBody(out[len(out)-1].name) {
		return nil, fmt.Errorf("Encapsulated header %q lists no body", clipText(v))
	}
	return out, nil
}

// isBody reports whether an Encapsulated entry names a body.
func isBody(name string) bool {
	return name == "req-body" || name == "res-body" || name == "opt-body" || name == "null-body"
}

// readICAPResponse reads an ICAP response's status line, its headers and the HTTP headers
// it encapsulates, at most icapHeaderMax bytes in all; a chunked body may follow (Body).
func readICAPResponse(br *bufio.Reader) (*icapResponse, error) {
	left := icapHeaderMax
	line, err := readLine(br, &left)
	if err != nil {
		return nil, err
	}
	r := &icapResponse{}
	if r.Status, r.Reason, err = parseStatus(line, "ICAP/1."); err != nil {
		return nil, err
	}
	if r.Header, err = readHeader(br, &left); err != nil {
		return nil, err
	}
	enc := r.get("Encapsulated")
	if enc == "" {
		return r, nil
	}
	entries, err := parseEncapsulated(enc)
	if err != nil {
		return nil, err
	}
	end := entries[len(entries)-1]
	if end.off > left {
		return nil, errICAPHeaderTooLarge
	}
	hdrs := make([]byte, end.off)
	if _, err := io.ReadFull(br, hdrs); err != nil {
		return nil, fmt.Errorf("encapsulated headers: %w", noEOF(err))
	}
	for k, e := range entries[:len(entries)-1] {
		if e.name == "res-hdr" {
			sect := string(hdrs[e.off:entries[k+1].off])
			first, _, _ := strings.Cut(sect, "\n")
			if r.HTTPStatus, r.HTTPReason, err = parseStatus(strings.TrimRight(first, "\r"), "HTTP/1."); err != nil {
				return nil, fmt.Errorf("encapsulated HTTP response: %w", err)
			}
		}
	}
	r.Body = end.name != "null-body"
	return r, nil
}

// readChunked reads a chunked body to its end (its last chunk and trailer) and returns the
// number of bytes it carried, which it discards, and whether the last chunk said ieof.
func readChunked(br *bufio.Reader) (int64, bool, error) {
	var n int64
	for {
		left := icapLineMax
		line, err := readLine(br, &left)
		if err != nil {
			return n, false, fmt.Errorf("chunked body: %w", err)
		}
		size, ext, _ := strings.Cut(line, ";")
		c, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || c < 0 || c > icapChunkMax {
			return n, false, fmt.Errorf("chunked body: malformed chunk size %q", clipText(line))
		}
		if c == 0 { // then the trailer, header lines
			left = icapHeaderMax
			if _, err := readHeader(br, &left); err != nil {
				return n, false, fmt.Errorf("chunked body trailer: %w", err)
			}
			return n, strings.TrimSpace(ext) == "ieof", nil
		}
		got, err := io.CopyN(io.Discard, br, c)
		n += got
		if err != nil {
			return n, false, fmt.Errorf("chunked body: %w", noEOF(err))
		}
		left = 2
		if crlf, err := readLine(br, &left); err != nil || crlf != "" {
			return n, false, fmt.Errorf("chunked body: chunk not followed by CRLF")
		}
	}
}

// noEOF turns a clean end of input in the middle of a message into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// threat returns the threat an ICAP response names (X-Infection-Found's Threat,
// X-Virus-ID, or the threat line of X-Violations-Found), and whether it reports one.
func (r *icapResponse) threat() (string, bool) {
	if v, ok := r.Header["X-Infection-Found"]; ok {
		for _, p := range strings.Split(v[0], ";") {
			if k, name, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "Threat") && name != "" {
				return name, true
			}
		}
		return orUnnamed(v[0]), true
	}
	if v, ok := r.Header["X-Virus-Id"]; ok {
		return orUnnamed(v[0]), true
	}
	if v, ok := r.Header["X-Violations-Found"]; ok {
		// "N" then, per violation: the file name, the threat, the resolution, the type.
		if lines := strings.Split(v[0], "\n"); len(lines) > 1 {
			return orUnnamed(lines[min(2, len(lines)-1)]), true
		}
		return "ICAP server reports violations: " + clipText(v[0]), true
	}
	return "", false
}

// orUnnamed is s, or a stand-in for a threat the server did not name.
func orUnnamed(s string) string {
	if s = strings.TrimSpace(s); s != "" {
		return clipText(s)
	}
	return "ICAP server found an unnamed threat"
}

// judge turns a final ICAP response into a verdict on an object of size bytes, of which
// the response's body carried got. A status other than 200 or 204 is an error.
func judge(r *icapResponse, got, size int64) (Verdict, error) {
	switch r.Status {
	case 204:
		return Verdict{Allow: true}, nil
	case 200:
	default:
		return Verdict{}, fmt.Errorf("ICAP server answered %d %s", r.Status, clipText(r.Reason))
	}
	if name, ok := r.threat(); ok {
		return Verdict{Reason: name}, nil
	}
	if r.HTTPStatus != 0 && (r.HTTPStatus < 200 || r.HTTPStatus > 299) {
		return Verdict{Reason: fmt.Sprintf("ICAP server answered HTTP %d %s", r.HTTPStatus, clipText(r.HTTPReason))}, nil
	}
	if got < size {
		return Verdict{Reason: fmt.Sprintf("ICAP server returned %d of %d bytes", got, size)}, nil
	}
	return Verdict{Allow: true}, nil
}

// parseOptions reads an OPTIONS response received at now.
func parseOptions(r *icapResponse, now time.Time) (*icapOptions, error) {
	if r.Status != 200 {
		return nil, fmt.Errorf("OPTIONS answered %d %s", r.Status, clipText(r.Reason))
	}
	o := &icapOptions{}
	for _, m := range strings.Split(r.get("Methods"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			o.methods = append(o.methods, strings.ToUpper(m))
		}
	}
	for _, a := range strings.Split(r.get("Allow"), ",") {
		o.allow204 = o.allow204 || strings.TrimSpace(a) == "204"
	}
	var err error
	if o.preview, err = optionNumber(r, "Preview"); err != nil {
		return nil, err
	}
	ttl, err := optionNumber(r, "Options-Ttl")
	if ttl >= 0 {
		o.expires = now.Add(time.Duration(ttl) * time.Second)
	}
	return o, err
}

// optionNumber returns the number an OPTIONS header says, -1 when it is absent.
func optionNumber(r *icapResponse, name string) (int64, error) {
	v := r.get(name)
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < 0 {
		return -1, fmt.Errorf("OPTIONS: malformed %s %q", name, clipText(v))
	}
	return n, nil
}

// icapRequest is the head of an ICAP request: its request line, headers and the HTTP
// headers it encapsulates.
type icapRequest struct {
	Method, URI, Host string
	Preview           int64 // the preview's length; -1: none
	ClientIP, User    string
	HTTP              []string // the encapsulated HTTP header sections, in order
	Encapsulated      string
}

// encode returns the request's head as sent, up to its body.
func (r *icapRequest) encode() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s ICAP/1.0\r\nHost: %s\r\nUser-Agent: ftpgate\r\n", r.Method, r.URI, r.Host)
	if r.Method != "OPTIONS" {
		b.WriteString("Allow: 204\r\n")
	}
	if r.Preview >= 0 {
		fmt.Fprintf(&b, "Preview: %d\r\n", r.Preview)
	}
	if r.ClientIP != "" {
		fmt.Fprintf(&b, "X-Client-IP: %s\r\n", r.ClientIP)
	}
	if r.User != "" { // as Squid sends it
		fmt.Fprintf(&b, "X-Authenticated-User: %s\r\n", base64.StdEncoding.EncodeToString([]byte("Local://"+r.User)))
	}
	fmt.Fprintf(&b, "Encapsulated: %s\r\n\r\n", r.Encapsulated)
	for _, s := range r.HTTP {
		b.WriteString(s)
	}
	return b.String()
}

// encapsulate fills in the HTTP message an object travels in: a download is the response
// to a GET of ftp://server/path (RESPMOD), an upload the body of a PUT to it (REQMOD).
func (r *icapRequest) encapsulate(obj *Object, size int64) {
	u, host := ftpURL(obj)
	if obj.Upload {
		r.Method = "REQMOD"
		r.HTTP = []string{fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u, host, size)}
		r.Encapsulated = fmt.Sprintf("req-hdr=0, req-body=%d", len(r.HTTP[0]))
		return
	}
	r.Method = "RESPMOD"
	r.HTTP = []string{
		fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u, host),
		fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size),
	}
	r.Encapsulated = fmt.Sprintf("req-hdr=0, res-hdr=%d, res-body=%d", len(r.HTTP[0]), len(r.HTTP[0])+len(r.HTTP[1]))
}

// ftpURL returns the object's ftp:// URL, its path escaped, and the host it names.
func ftpURL(obj *Object) (string, string) {
	host := "ftp.invalid"
	if obj.Server.Addr().IsValid() {
		host = obj.Server.Addr().Unmap().String()
		if obj.Server.Addr().Unmap().Is6() {
			host = "[" + host + "]"
		}
		if p := obj.Server.Port(); p != 0 && p != 21 {
			host += ":" + strconv.Itoa(int(p))
		}
	}
	u := url.URL{Scheme: "ftp", Host: host, Path: "/" + strings.TrimPrefix(obj.Arg, "/")}
	return u.String(), host
}

// clipText shortens what a server sent for an error or a reason.
func clipText(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
