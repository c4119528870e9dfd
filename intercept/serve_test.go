package intercept

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServeHandsOverAndStops(t *testing.T) {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan *net.TCPConn, 2)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, nil, func(c *net.TCPConn) { got <- c }) }()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		select {
		case sc := <-got:
			sc.Close()
		case <-time.After(5 * time.Second):
			t.Fatal("connection not handed over")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop")
	}
	// Asked directly: a dial could reach another test's listener that took the freed port.
	if _, err := ln.AcceptTCP(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("listener still open after Serve returned: accept gave %v", err)
	}
}

func TestTransient(t *testing.T) {
	for err, want := range map[error]bool{
		&net.OpError{Op: "accept", Err: syscall.EMFILE}: true,
		syscall.ENFILE: true,
		syscall.EBADF:  false,
		net.ErrClosed:  false,
	} {
		if got := transient(err); got != want {
			t.Errorf("transient(%v) = %v, want %v", err, got, want)
		}
	}
}

// flakyAcceptor fails with err n times, then hands out conn once, then reports closed.
type flakyAcceptor struct {
	n      int
	err    error
	conn   *net.TCPConn
	calls  int
	closed bool
}

func (f *flakyAcceptor) AcceptTCP() (*net.TCPConn, error) {
	f.calls++
	switch {
	case f.calls <= f.n:
		return nil, f.err
	case f.conn != nil:
		c := f.conn
		f.conn = nil
		return c, nil
	}
	return nil, net.ErrClosed
}

func (f *flakyAcceptor) Close() error { f.closed = true; return nil }

// TestServeBacksOffOnEMFILE: running out of descriptors pauses accepting (with growing
// pauses, not a busy loop), logs one warning for the whole run of failures and one line when
// accepting works again, and the next connection is still handed over.
func TestServeBacksOffOnEMFILE(t *testing.T) {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &flakyAcceptor{n: 5, err: &net.OpError{Op: "accept", Err: syscall.EMFILE}, conn: c}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	handed := 0
	start := time.Now()
	if err := serve(context.Background(), f, log, func(*net.TCPConn) { handed++ }); err != nil {
		t.Fatalf("serve: %v", err)
	}
	took := time.Since(start)
	if handed != 1 {
		t.Errorf("%d connections handed over after the failures, want 1", handed)
	}
	// 5+10+20+40+80 ms of pauses: a busy loop would take microseconds.
	if took < 150*time.Millisecond {
		t.Errorf("5 EMFILE accepts took %v: no back-off", took)
	}
	out := buf.String()
	if n := strings.Count(out, "accept failing"); n != 1 {
		t.Errorf("%d warnings for one run of failures, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "too many open files") || !strings.Contains(out, "accepting again") || !strings.Contains(out, "failed_accepts=5") {
		t.Errorf("log does not name the error and the recovery:\n%s", out)
	}
}
