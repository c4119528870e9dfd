package ftptls

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// startTLSServer serves TLS with cfg on a loopback listener (network "tcp4" on
// 127.0.0.1, "tcp6" on ::1) and returns its address. Each connection gets one byte
// after the handshake, so a TLS 1.3 client reads the session tickets sent before it.
// It skips the test when the address family is not available.
func startTLSServer(t *testing.T, network string, cfg *tls.Config) string {
	t.Helper()
	host := "127.0.0.1"
	if network == "tcp6" {
		host = "::1"
	}
	ln, err := net.Listen(network, net.JoinHostPort(host, "0"))
	if err != nil {
		if network == "tcp6" {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute)) // a hang guard, not an assertion
				tc := tls.Server(c, cfg)
				if tc.Handshake() != nil {
					return
				}
				if _, err := tc.Write([]byte{'x'}); err != nil {
					return
				}
				io.Copy(io.Discard, tc)
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects to addr with cfg, completes the handshake, reads the server's byte
// (processing TLS 1.3 session tickets) and returns the connection state.
func handshake(t *testing.T, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(time.Minute))
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, err
	}
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return tls.ConnectionState{}, errors.Join(errors.New("read after handshake"), err)
	}
	return conn.ConnectionState(), nil
}
