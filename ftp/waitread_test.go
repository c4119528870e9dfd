package ftp

import (
	"testing"
	"time"
)

// TestWaitRead: WaitRead returns at once for bytes left behind by a short read (the poller
// is edge-triggered), blocks while nothing is there, and returns when the peer closes.
func TestWaitRead(t *testing.T) {
	peer, c := controlPair(t)
	w := newWaitConn(c, 0)
	if _, err := peer.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	var b [3]byte
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	start := time.Now()
	if err := w.WaitRead(); err != nil || time.Since(start) > time.Second {
		t.Fatalf("WaitRead with 7 bytes waiting: %v after %s", err, time.Since(start))
	}
	var rest [16]byte
	if n, err := c.Read(rest[:]); err != nil || n != 7 {
		t.Fatalf("read the rest: %d %v", n, err)
	}
	// Nothing waiting: WaitRead blocks until the deadline.
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if err := w.WaitRead(); err == nil {
		t.Fatal("WaitRead returned with nothing to read")
	}
	done := make(chan error, 1)
	c.SetReadDeadline(time.Time{})
	go func() { done <- w.WaitRead() }()
	peer.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WaitRead did not return when the peer closed")
	}
}
