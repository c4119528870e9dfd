package inspect

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// DefaultICAPPort is the ICAP port of a URL that names none.
const DefaultICAPPort = 1344

// DefaultICAPMaxIdle is ICAP.MaxIdle as NewICAP sets it.
const DefaultICAPMaxIdle = 4

// icapWriterGrace is how long a response that came in whole waits for the rest of the
// request to be written before the connection is given up rather than kept.
const icapWriterGrace = 250 * time.Millisecond

// ICAP is a hook that asks an ICAP service (RFC 3507), such as c-icap's virus_scan on
// clamd, about each object. A download goes as the response to an HTTP GET of
// ftp://server/path (RESPMOD), an upload as the body of an HTTP PUT to it (REQMOD), with
// the client's address (X-Client-IP) and the user (X-Authenticated-User, as Squid sends
// it). The service's OPTIONS (methods, preview size) are learnt before the first request,
// and again when their Options-TTL ran out or after a failure; when it offers a preview,
// the first bytes go first and the rest only if it asks for them (100 Continue).
//
// An ICAP 204 allows the object. A 200 refuses it when it names a threat
// (X-Infection-Found, X-Virus-ID, X-Violations-Found: the reason is the threat's name),
// when the HTTP message it returns is not a 2xx, or when that message's body is shorter
// than the object (c-icap cuts a body short when it finds a virus in its trickle mode).
// Any other answer, an unreachable server, a malformed reply or the timeout is a failure,
// which the failure policy decides.
//
// Connections are persistent: up to MaxIdle idle ones are kept for later requests. One
// ICAP is safe for concurrent use by many sessions.
type ICAP struct {
	// Dial opens connections to the server (nil: a net.Dialer's).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxIdle bounds the idle connections kept for later requests (0: none kept).
	MaxIdle int

	name    string
	uri     string // the service's URI in request lines
	addr    string // host:port to dial, and the Host header
	timeout time.Duration

	mu     sync.Mutex
	idle   []*icapConn
	opts   *icapOptions
	closed bool
}

// NewICAP returns an ICAP hook named name for the service at rawURL,
// icap://host[:port]/service[?query] (port 1344 by default), whose verdicts take at most
// timeout (0: DefaultHookTimeout).
func NewICAP(name, rawURL string, timeout time.Duration) (*ICAP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("icap hook %s: %w", name, err)
	}
	switch {
	case u.Scheme != "icap":
		return nil, fmt.Errorf("icap hook %s: URL %q: the scheme must be icap://", name, rawURL)
	case u.Hostname() == "":
		return nil, fmt.Errorf("icap hook %s: URL %q names no host", name, rawURL)
	case u.User != nil || u.Fragment != "":
		return nil, fmt.Errorf("icap hook %s: URL %q: no user or fragment allowed", name, rawURL)
	case u.Path == "" || u.Path == "/":
		return nil, fmt.Errorf("icap hook %s: URL %q names no service", name, rawURL)
	}
	port := DefaultICAPPort
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("icap hook %s: URL %q: bad port %q", name, rawURL, p)
		}
	}
	if timeout < 0 {
		return nil, fmt.Errorf("icap hook %s: negative timeout %s", name, timeout)
	}
	addr := net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	uri := (&url.URL{Scheme: "icap", Host: addr, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
	return &ICAP{MaxIdle: DefaultICAPMaxIdle, name: name, uri: uri, addr: addr, timeout: timeout}, nil
}

// Name names the hook.
func (i *ICAP) Name() string { return i.name }

// HookTimeout is how long a verdict may take, the whole exchange with the server.
func (i *ICAP) HookTimeout() time.Duration { return i.timeout }

// Close closes the idle connections. Connections in use are closed when their exchange
// ends rather than kept; the hook still works afterwards, without keeping connections.
func (i *ICAP) Close() error {
	i.mu.Lock()
	idle := i.idle
	i.idle, i.closed = nil, true
	i.mu.Unlock()
	var errs []error
	for _, c := range idle {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Inspect asks the service about obj, whose bytes body holds.
func (i *ICAP) Inspect(ctx context.Context, obj *Object, body *Spool) (Verdict, error) {
	timeout := i.timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := i.inspect(ctx, obj, body)
	if err != nil {
		i.mu.Lock()
		i.opts = nil // learn them again: the service may have changed
		i.mu.Unlock()
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
		case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			return Verdict{}, fmt.Errorf("%s: ICAP server %s: no verdict within %s: %w", i.name, i.addr, timeout, err)
		}
		return Verdict{}, fmt.Errorf("%s: ICAP server %s: %w", i.name, i.addr, err)
	}
	v.Hook = i.name
	return v, nil
}

// inspect runs the exchange for obj.
func (i *ICAP) inspect(ctx context.Context, obj *Object, body *Spool) (Verdict, error) {
	o, err := i.options(ctx)
	if err != nil {
		return Verdict{}, err
	}
	size := body.Size()
	req := &icapRequest{URI: i.uri, Host: i.addr, Preview: -1, User: obj.User}
	if obj.Client.Addr().IsValid() {
		req.ClientIP = obj.Client.Addr().Unmap().WithZone("").String()
	}
	req.encapsulate(obj, size)
	if !slices.Contains(o.methods, req.Method) {
		return Verdict{}, fmt.Errorf("the service %s does not offer %s (OPTIONS Methods: %q)", i.uri, req.Method, o.methods)
	}
	if o.preview >= 0 {
		req.Preview = min(o.preview, size)
	}
	head := req.encode()
	var v Verdict
	err = i.do(ctx, func(c *icapConn) (bool, error) {
		var keep bool
		var err error
		v, keep, err = c.modify(head, req.Preview, body)
		return keep, err
	})
	return v, err
}

// options returns the service's OPTIONS, asking for them when none are known or they
// expired.
func (i *ICAP) options(ctx context.Context) (*icapOptions, error) {
	i.mu.Lock()
	o := i.opts
	i.mu.Unlock()
	if o.fresh(time.Now()) {
		return o, nil
	}
	head := (&icapRequest{Method: "OPTIONS", URI: i.uri, Host: i.addr, Preview: -1, Encapsulated: "null-body=0"}).encode()
	var resp *icapResponse
	err := i.do(ctx, func(c *icapConn) (bool, error) {
		if err := c.send(head); err != nil {
			return false, err
		}
		var err error
		resp, _, err = c.read()
		return err == nil && !resp.closes(), err
	})
	if err != nil {
		return nil, fmt.Errorf("OPTIONS: %w", err)
	}
	if o, err = parseOptions(resp, time.Now()); err != nil {
		return nil, err
	}
	i.mu.Lock()
	i.opts = o
	i.mu.Unlock()
	return o, nil
}

// icapOptions is what an OPTIONS response says of a service.
type icapOptions struct {
	methods  []string
	preview  int64     // -1: no preview
	allow204 bool      // recorded; requests offer Allow: 204 anyway (harmless without it)
	expires  time.Time // zero: never
}

// fresh reports whether o is still valid at now.
func (o *icapOptions) fresh(now time.Time) bool {
	return o != nil && (o.expires.IsZero() || now.Before(o.expires))
}

// do runs one exchange on a connection, idle or new, and keeps the connection when the
// exchange says so. An idle connection that fails before the server sent a byte (closed
// while it was idle) is given up and the exchange runs once more on a new one.
func (i *ICAP) do(ctx context.Context, exchange func(*icapConn) (keep bool, err error)) error {
	fresh := false
	for {
		c, err := i.conn(ctx, fresh)
		if err != nil {
			return err
		}
		keep, err := c.run(ctx, exchange)
		if err == nil {
			i.put(c, keep)
			return nil
		}
		c.Close()
		if fresh || !c.reused || c.got > 0 || ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		fresh = true
	}
}

// conn returns an idle connection, or a new one when there is none or fresh is set.
func (i *ICAP) conn(ctx context.Context, fresh bool) (*icapConn, error) {
	if !fresh {
		i.mu.Lock()
		if n := len(i.idle); n > 0 {
			c := i.idle[n-1]
			i.idle = i.idle[:n-1]
			i.mu.Unlock()
			c.reused, c.got = true, 0
			return c, nil
		}
		i.mu.Unlock()
	}
	dial := i.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", i.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &icapConn{Conn: nc}
	c.br = bufio.NewReaderSize(countingReader{c}, 16<<10)
	c.bw = bufio.NewWriterSize(nc, 32<<10)
	return c, nil
}

// put keeps c for a later exchange, or closes it.
func (i *ICAP) put(c *icapConn, keep bool) {
	if keep && c.SetDeadline(time.Time{}) == nil {
		i.mu.Lock()
		if !i.closed && len(i.idle) < i.MaxIdle {
			i.idle = append(i.idle, c)
			c = nil
		}
		i.mu.Unlock()
	}
	if c != nil {
		c.Close()
	}
}

// icapConn is a connection to the ICAP server.
type icapConn struct {
	net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	got    int64 // bytes read in the current exchange
	reused bool  // taken from the idle connections
}

// countingReader reads c's connection and counts the bytes.
type countingReader struct{ c *icapConn }

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.c.Conn.Read(p)
	r.c.got += int64(n)
	return n, err
}

// run runs exchange on c within ctx: its deadline is the connection's, its cancellation
// breaks the connection's I/O off.
func (c *icapConn) run(ctx context.Context, exchange func(*icapConn) (bool, error)) (bool, error) {
	if dl, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(dl); err != nil {
			return false, err
		}
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	keep, err := exchange(c)
	if !stop() {
		keep = false // the deadline is spoilt
		if err != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
	}
	return keep, err
}

// send writes p and flushes.
func (c *icapConn) send(p string) error {
	if _, err := c.bw.WriteString(p); err != nil {
		return err
	}
	return c.bw.Flush()
}

// read reads a response and its body, if any, which it counts.
func (c *icapConn) read() (*icapResponse, int64, error) {
	resp, err := readICAPResponse(c.br)
	if err != nil || !resp.Body {
		return resp, 0, err
	}
	got, _, err := readChunked(c.br)
	return resp, got, err
}

// modify sends a RESPMOD or REQMOD request (head, then the body, preview bytes of it first
// unless preview is -1) and judges the response. keep says whether the connection may
// serve another request.
func (c *icapConn) modify(head string, preview int64, body *Spool) (v Verdict, keep bool, err error) {
	size, r := body.Size(), body.Reader()
	if _, err := c.bw.WriteString(head); err != nil {
		return Verdict{}, false, err
	}
	rest := size
	if preview >= 0 {
		last := "0\r\n\r\n"
		if preview == size {
			last = "0; ieof\r\n\r\n"
		}
		if err := c.writeBody(r, preview, last); err != nil {
			return Verdict{}, false, err
		}
		resp, got, err := c.read()
		if err != nil || resp.Status != 100 || preview == size { // 100 after ieof: judge fails it
			return c.judge(resp, got, size, err)
		}
		rest -= preview
	}
	// The rest goes while the response is read: a server may answer before it took it all.
	done := make(chan error, 1)
	go func() { done <- c.writeBody(r, rest, "0\r\n\r\n") }()
	resp, got, err := c.read()
	v, keep, err = c.judge(resp, got, size, err)
	if err != nil {
		c.Close() // the writer may be stuck
		<-done
		return Verdict{}, false, err
	}
	select {
	case werr := <-done:
		keep = keep && werr == nil
	case <-time.After(icapWriterGrace): // answered without reading it all
		c.Close()
		<-done
		keep = false
	}
	return v, keep, nil
}

// judge judges a final response whose body carried got bytes, for an object of size.
func (c *icapConn) judge(resp *icapResponse, got, size int64, err error) (Verdict, bool, error) {
	if err != nil {
		return Verdict{}, false, err
	}
	v, err := judge(resp, got, size)
	return v, err == nil && !resp.closes(), err
}

// writeBody writes n bytes of r in chunks, then last, and flushes.
func (c *icapConn) writeBody(r io.Reader, n int64, last string) error {
	buf := make([]byte, min(n, 64<<10))
	for n > 0 {
		k, err := io.ReadFull(r, buf[:min(n, int64(len(buf)))])
		if err != nil {
			return fmt.Errorf("body: %w", err)
		}
		n -= int64(k)
		fmt.Fprintf(c.bw, "%x\r\n", k)
		c.bw.Write(buf[:k])
		if _, err := c.bw.WriteString("\r\n"); err != nil { // bufio.Writer's errors stick
			return err
		}
	}
	return c.send(last)
}
