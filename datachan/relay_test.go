package datachan

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func TestRelayHalfClose(t *testing.T) {
	// peerA <-> a  [relay]  b <-> peerB
	peerA, a := tcpPair(t)
	b, peerB := tcpPair(t)
	type result struct {
		c   Counts
		err error
	}
	done := make(chan result, 1)
	var (
		mu     sync.Mutex
		halves []bool
	)
	go func() {
		c, err := Relay(context.Background(), a, b, func(aToB bool, n int64) {
			mu.Lock()
			halves = append(halves, aToB)
			mu.Unlock()
		})
		done <- result{c, err}
	}()
	up := bytes.Repeat([]byte("u"), 3<<20)
	down := bytes.Repeat([]byte("d"), 1<<20)
	// A sends everything and half-closes; B must see EOF yet still be able to answer.
	go func() { peerA.Write(up); peerA.CloseWrite() }()
	peerB.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(peerB)
	if err != nil || !bytes.Equal(got, up) {
		t.Fatalf("B read %d bytes (err %v), want %d", len(got), err, len(up))
	}
	peerB.Write(down)
	peerB.CloseWrite()
	peerA.SetDeadline(time.Now().Add(10 * time.Second))
	got, err = io.ReadAll(peerA)
	if err != nil || !bytes.Equal(got, down) {
		t.Fatalf("A read %d bytes (err %v), want %d", len(got), err, len(down))
	}
	select {
	case r := <-done:
		if r.err != nil || r.c.AToB != int64(len(up)) || r.c.BToA != int64(len(down)) {
			t.Fatalf("Relay = %+v, %v", r.c, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not end after both half-closes")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(halves) != 2 || halves[0] != true {
		t.Fatalf("half callbacks %v, want A->B first", halves)
	}
}

func TestRelayCancel(t *testing.T) {
	_, a := tcpPair(t)
	b, _ := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := Relay(ctx, a, b, nil); done <- err }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled relay returned nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("relay ignored cancellation")
	}
}

func TestServerRefusesUnexpected(t *testing.T) {
	_, r := newFakeRegistry(t, 30*time.Second)
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Server{Registry: r}
	go s.Serve(ctx, ln)
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	got := make(chan *net.TCPConn, 1)
	if err := r.Expect(ctx, 9, Key{loopback, loopback, port}, func(c *net.TCPConn) { got <- c }); err != nil {
		t.Fatal(err)
	}
	c1, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	select {
	case c := <-got:
		c.Write([]byte("hello"))
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("expected connection not handed over")
	}
	// The expectation admitted one connection; the next one is reset.
	// (The reset can be so quick that the dial itself reports it.)
	c2, err := net.Dial("tcp4", ln.Addr().String())
	if err == nil {
		defer c2.Close()
		c2.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c2.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) || n != 0 {
			t.Fatalf("second connection: n=%d, err=%v, want a reset", n, err)
		}
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("second connection: %v, want a reset", err)
	}
	b, _ := io.ReadAll(c1)
	if string(b) != "hello" {
		t.Fatalf("first connection read %q", b)
	}
	cancel()
	s.Wait()
}
