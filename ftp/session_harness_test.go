package ftp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/audit"
	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/nft"
)

// mapDialer dials plain loopback connections, redirecting some destinations: on loopback the
// test cannot intercept connections as TPROXY would, so the data listener's own port stands in
// for the announced data port and the dialer maps it to where the peer really listens.
type mapDialer struct {
	mu    sync.Mutex
	to    map[netip.AddrPort]netip.AddrPort
	calls []string
	slow  time.Duration // delay before each redirected dial
}

func (d *mapDialer) redirect(from, to netip.AddrPort) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.to == nil {
		d.to = make(map[netip.AddrPort]netip.AddrPort)
	}
	d.to[from] = to
}

func (d *mapDialer) Dial(ctx context.Context, src netip.Addr, dst netip.AddrPort) (*net.TCPConn, error) {
	d.mu.Lock()
	d.calls = append(d.calls, fmt.Sprintf("%s->%s", src, dst))
	to, redirected := d.to[dst]
	slow := d.slow
	d.mu.Unlock()
	if redirected {
		dst = to
		time.Sleep(slow)
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", dst.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the decoded JSON log records whose msg is msg.
func (s *syncBuffer) records(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(s.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// harness runs one Session between a test client and a scripted server, with the real
// registry over the fake installer and a datachan.Server on a loopback data listener.
type harness struct {
	t      *testing.T
	fake   *nft.Fake
	reg    *datachan.Registry
	dialer *mapDialer
	logs   *syncBuffer
	srv    *ftptest.Server
	dataLn *net.TCPListener // stands in for the transparent data listener
	data2  *net.TCPListener // a second port of it, for channels whose two legs both listen
	client net.Conn
	sess   *Session
	r      *bufio.Reader
	done   chan error
	audit  *auditRecorder
}

// auditRecorder keeps the audit records a session writes.
type auditRecorder struct {
	mu        sync.Mutex
	sessions  []audit.Session
	transfers []audit.Transfer
}

func (a *auditRecorder) Session(r audit.Session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions = append(a.sessions, r)
}

func (a *auditRecorder) Transfer(r audit.Transfer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.transfers = append(a.transfers, r)
}

// records returns copies of what was recorded so far.
func (a *auditRecorder) records() ([]audit.Session, []audit.Transfer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Session(nil), a.sessions...), append([]audit.Transfer(nil), a.transfers...)
}

func newHarness(t *testing.T, timeout time.Duration, h ftptest.Handler) *harness {
	t.Helper()
	return newHarnessWith(t, timeout, Config{Spoof: true, Linger: 2 * time.Second, Hash: true}, h)
}

// newHarnessPolicy is newHarness with a policy.
func newHarnessPolicy(t *testing.T, pol PolicySession, h ftptest.Handler) *harness {
	t.Helper()
	return newHarnessFull(t, 30*time.Second, Config{Spoof: true, Linger: 2 * time.Second, Hash: true}, pol, h)
}

// newHarnessWith is newHarness with a session configuration.
func newHarnessWith(t *testing.T, timeout time.Duration, cfg Config, h ftptest.Handler) *harness {
	t.Helper()
	return newHarnessFull(t, timeout, cfg, nil, h)
}

func newHarnessFull(t *testing.T, timeout time.Duration, cfg Config, pol PolicySession, h ftptest.Handler) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	hs := &harness{t: t, fake: nft.NewFake(nft.Config{}), dialer: &mapDialer{}, logs: &syncBuffer{}, done: make(chan error, 1), audit: &auditRecorder{}}
	if cfg.Audit == nil {
		cfg.Audit = hs.audit
	}
	log := slog.New(slog.NewJSONHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := hs.fake.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	hs.reg = datachan.NewRegistry(hs.fake, timeout, log)
	hs.srv = ftptest.NewServer(t, h)

	var err error
	hs.dataLn, err = net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dsrv := &datachan.Server{Registry: hs.reg, Log: log}
	go dsrv.Serve(ctx, hs.dataLn)
	hs.data2, err = net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	go dsrv.Serve(ctx, hs.data2)

	var accepted *net.TCPConn
	hs.client, accepted = controlPair(t)
	sess := NewSession(7, accepted, hs.srv.Addr, cfg, hs.dialer, hs.reg, pol, log)
	hs.sess = sess
	go func() { hs.done <- sess.Serve(ctx) }()
	hs.r = bufio.NewReader(hs.client)
	if got := hs.readReply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting = %q", got)
	}
	return hs
}

// dataPort is the port of the stand-in data listener, which the scripted peer announces.
func (hs *harness) dataPort() uint16 { return uint16(hs.dataLn.Addr().(*net.TCPAddr).Port) }

func (hs *harness) send(line string) {
	hs.t.Helper()
	hs.client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(hs.client, "%s\r\n", line); err != nil {
		hs.t.Fatalf("send %q: %v", line, err)
	}
}

// readReply reads one reply line from the gateway (the tests use single-line replies).
func (hs *harness) readReply() string {
	hs.t.Helper()
	hs.client.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := hs.r.ReadString('\n')
	if err != nil {
		hs.t.Fatalf("read reply: %v (got %q)", err, line)
	}
	return strings.TrimRight(line, "\r\n")
}

// cmd sends line and returns the reply.
func (hs *harness) cmd(line string) string {
	hs.t.Helper()
	hs.send(line)
	return hs.readReply()
}

// waitEnd waits for the session to end.
func (hs *harness) waitEnd() {
	hs.t.Helper()
	select {
	case <-hs.done:
	case <-time.After(5 * time.Second):
		hs.t.Fatal("session did not end")
	}
}

// waitRecord waits for a log record with msg and returns it.
func (hs *harness) waitRecord(msg string) map[string]any {
	hs.t.Helper()
	for i := 0; i < 100; i++ {
		if r := hs.logs.records(msg); len(r) > 0 {
			return r[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	hs.t.Fatalf("no %q log record; logs:\n%s", msg, hs.logs.b.String())
	return nil
}

// elements returns the installed elements, one per line.
func (hs *harness) elements() string {
	els, err := hs.fake.Elements(context.Background())
	if err != nil {
		hs.t.Fatal(err)
	}
	var out []string
	for _, e := range els {
		out = append(out, e.String())
	}
	return strings.Join(out, "\n")
}

// nopData is a datachan.Expecter that expects nothing.
type nopData struct{}

func (nopData) Expect(context.Context, uint64, nft.Element, datachan.Handler) error { return nil }
func (nopData) Cancel(context.Context, uint64)                                      {}
func (nopData) Withdraw(context.Context, uint64, nft.Element)                       {}

// fixedPorts hands out the given ports in order (the stand-in listeners' ports) and records
// what was released.
type fixedPorts struct {
	mu       sync.Mutex
	next     []uint16
	released []uint16
}

func (f *fixedPorts) Reserve() (uint16, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.next) == 0 {
		return 0, fmt.Errorf("no port")
	}
	p := f.next[0]
	f.next = f.next[1:]
	return p, nil
}

func (f *fixedPorts) Release(p uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, p)
}

// controlPair returns both ends of a loopback control connection: the client's, and the
// accepted one a Session serves. Both close when the test ends.
func controlPair(t *testing.T) (net.Conn, *net.TCPConn) {
	t.Helper()
	ctl, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	c, err := net.Dial("tcp4", ctl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	acc, err := ctl.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); acc.Close() })
	return c, acc
}
