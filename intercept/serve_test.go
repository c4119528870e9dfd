package intercept

import (
	"context"
	"errors"
	"net"
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
	go func() { done <- Serve(ctx, ln, func(c *net.TCPConn) { got <- c }) }()
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
