package park

import (
	"errors"
	"net"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection, closed when the test ends.
func pair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// woken waits up to d for a wake on c.
func woken(c <-chan struct{}, d time.Duration) bool {
	select {
	case <-c:
		return true
	case <-time.After(d):
		return false
	}
}

func TestParkWakesOnData(t *testing.T) {
	p := newPoller(t)
	a, b := pair(t)
	wakes := make(chan struct{}, 4)
	if _, err := p.Park(a, func() { wakes <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if woken(wakes, 50*time.Millisecond) {
		t.Fatal("woken with nothing to read")
	}
	if n := p.Parked(); n != 1 {
		t.Fatalf("Parked = %d, want 1", n)
	}
	b.Write([]byte("NOOP\r\n"))
	if !woken(wakes, 5*time.Second) {
		t.Fatal("not woken by data")
	}
	b.Write([]byte("NOOP\r\n"))
	if woken(wakes, 50*time.Millisecond) {
		t.Fatal("woken twice")
	}
	if n := p.Parked(); n != 0 {
		t.Fatalf("Parked = %d after the wake, want 0", n)
	}
	// Parked again with bytes waiting (the two lines are unread): woken at once.
	if _, err := p.Park(a, func() { wakes <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if !woken(wakes, 5*time.Second) {
		t.Fatal("not woken with bytes already waiting")
	}
}

func TestParkWakesOnHangUp(t *testing.T) {
	p := newPoller(t)
	a, b := pair(t)
	wakes := make(chan struct{}, 1)
	if _, err := p.Park(a, func() { wakes <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if !woken(wakes, 5*time.Second) {
		t.Fatal("not woken when the peer closed")
	}
}

func TestRelease(t *testing.T) {
	p := newPoller(t)
	a, b := pair(t)
	wakes := make(chan struct{}, 1)
	h, err := p.Park(a, func() { wakes <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if !h.Release() {
		t.Fatal("Release of a parked waiter = false")
	}
	if h.Release() {
		t.Fatal("second Release = true")
	}
	b.Write([]byte("x"))
	if woken(wakes, 100*time.Millisecond) {
		t.Fatal("woken after Release")
	}
	// After a wake, Release says so.
	h, err = p.Park(a, func() { wakes <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if !woken(wakes, 5*time.Second) {
		t.Fatal("not woken")
	}
	if h.Release() {
		t.Fatal("Release after the wake = true")
	}
}

func TestCloseWakesParked(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := pair(t)
	wakes := make(chan struct{}, 1)
	if _, err := p.Park(a, func() { wakes <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if !woken(wakes, 5*time.Second) {
		t.Fatal("a parked waiter was lost at Close")
	}
	if _, err := p.Park(a, func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Park after Close: %v, want ErrClosed", err)
	}
}

// TestManyParked parks 500 connections and wakes each exactly once.
func TestManyParked(t *testing.T) {
	const n = 500
	p := newPoller(t)
	wakes := make(chan int, 2*n)
	peers := make([]*net.TCPConn, n)
	for i := range n {
		a, b := pair(t)
		peers[i] = b
		if _, err := p.Park(a, func() { wakes <- i }); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range peers {
		b.Write([]byte("x"))
	}
	seen := make([]bool, n)
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case i := <-wakes:
			if seen[i] {
				t.Fatalf("waiter %d woken twice", i)
			}
			seen[i] = true
		case <-deadline:
			t.Fatalf("only some of %d waiters woken", n)
		}
	}
	select {
	case i := <-wakes:
		t.Fatalf("waiter %d woken twice", i)
	case <-time.After(50 * time.Millisecond):
	}
}
