package datachan

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/wire"
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

// TestRelayHalfClose checks wire.NoData: each way carries data and ends on its own half-close.
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
		c, err := Relay(context.Background(), a, b, wire.NoData, func(aToB bool, n int64) {
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
		if r.err != nil || r.c.ToServer != int64(len(up)) || r.c.ToClient != int64(len(down)) {
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
	for _, dir := range []wire.Direction{wire.NoData, wire.Upload, wire.Download} {
		t.Run(dir.String(), func(t *testing.T) {
			_, a := tcpPair(t)
			b, _ := tcpPair(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err := Relay(ctx, a, b, dir, nil); done <- err }()
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled relay returned %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("relay ignored cancellation")
			}
		})
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
	if err := r.Expect(ctx, 9, nft.Element{Src: loopback, Dst: loopback, Port: port}, func(c *net.TCPConn) { got <- c }); err != nil {
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

// relayRun starts Relay(dir) between two loopback pairs, peerA <-> a [relay] b <-> peerB, and
// returns the outer peers, the relay's result and the half callbacks (by aToB) it made.
type relayRun struct {
	peerA, peerB *net.TCPConn
	done         chan relayResult
	mu           sync.Mutex
	halves       map[bool]int64
}

type relayResult struct {
	c   Counts
	err error
}

func startRelay(t *testing.T, dir wire.Direction) *relayRun {
	t.Helper()
	peerA, a := tcpPair(t)
	b, peerB := tcpPair(t)
	r := &relayRun{peerA: peerA, peerB: peerB, done: make(chan relayResult, 1), halves: make(map[bool]int64)}
	go func() {
		c, err := Relay(context.Background(), a, b, dir, func(aToB bool, n int64) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if _, dup := r.halves[aToB]; dup {
				n = -1 // a direction ended twice: never a valid count
			}
			r.halves[aToB] = n
		})
		r.done <- relayResult{c, err}
	}()
	return r
}

// wait returns the relay's result, failing t if the relay does not end.
func (r *relayRun) wait(t *testing.T) relayResult {
	t.Helper()
	select {
	case res := <-r.done:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not end")
		return relayResult{}
	}
}

// ends sides a one-way relay test from dir: the peer that sends and the one that receives.
func (r *relayRun) ends(dir wire.Direction) (sender, receiver *net.TCPConn) {
	if dir == wire.Upload {
		return r.peerA, r.peerB
	}
	return r.peerB, r.peerA
}

// readToEnd reads c until it ends and returns what arrived and how it ended; a read that only
// stops at the safety deadline fails t, since the connection was expected to end.
func readToEnd(t *testing.T, name string, c *net.TCPConn) ([]byte, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: connection still open after %d bytes", name, len(got))
	}
	return got, err
}

// TestRelayOneWay checks a one-way transfer in both orders of the half-closes: the receiver
// may shut its (forbidden) sending side before any data flows, as many clients do.
func TestRelayOneWay(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	for _, tc := range []struct {
		dir           wire.Direction
		receiverFirst bool
	}{
		{wire.Upload, true},
		{wire.Upload, false},
		{wire.Download, true},
		{wire.Download, false},
	} {
		name := tc.dir.String() + "/sender-closes-first"
		if tc.receiverFirst {
			name = tc.dir.String() + "/receiver-closes-first"
		}
		t.Run(name, func(t *testing.T) {
			r := startRelay(t, tc.dir)
			sender, receiver := r.ends(tc.dir)
			if tc.receiverFirst {
				receiver.CloseWrite()
				// The half-close reaches the sender as EOF, before it sends anything.
				if got, err := readToEnd(t, "sender", sender); err != nil || len(got) != 0 {
					t.Fatalf("sender read %q, %v; want EOF", got, err)
				}
			}
			werr := make(chan error, 1)
			go func() {
				_, err := sender.Write(payload)
				if err == nil {
					err = sender.CloseWrite()
				}
				werr <- err
			}()
			got, err := readToEnd(t, "receiver", receiver)
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("receiver read %d bytes (err %v), want %d", len(got), err, len(payload))
			}
			if err := <-werr; err != nil {
				t.Fatalf("sender: %v", err)
			}
			if !tc.receiverFirst {
				receiver.CloseWrite()
				if got, err := readToEnd(t, "sender", sender); err != nil || len(got) != 0 {
					t.Fatalf("sender read %q, %v; want EOF", got, err)
				}
			}
			res := r.wait(t)
			want := Counts{ToServer: int64(len(payload))}
			if tc.dir == wire.Download {
				want = Counts{ToClient: int64(len(payload))}
			}
			if res.err != nil || res.c != want {
				t.Fatalf("Relay = %+v, %v; want %+v, nil", res.c, res.err, want)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if wantHalves := map[bool]int64{true: want.ToServer, false: want.ToClient}; !maps.Equal(r.halves, wantHalves) {
				t.Fatalf("half callbacks %v, want %v", r.halves, wantHalves)
			}
		})
	}
}

// TestRelayWrongDirection checks that a byte against the transfer's direction closes both
// connections, reaches nobody, and fails the relay with ErrWrongDirection.
func TestRelayWrongDirection(t *testing.T) {
	for _, tc := range []struct {
		dir wire.Direction
		// midStream keeps the sender writing (far more than the buffers hold) while the
		// receiver misbehaves; otherwise the sender sends a few bytes and waits.
		midStream bool
	}{
		{wire.Upload, false},
		{wire.Upload, true},
		{wire.Download, false},
		{wire.Download, true},
	} {
		name := tc.dir.String() + "/idle-sender"
		if tc.midStream {
			name = tc.dir.String() + "/mid-stream"
		}
		t.Run(name, func(t *testing.T) {
			r := startRelay(t, tc.dir)
			sender, receiver := r.ends(tc.dir)
			werr := make(chan error, 1)
			go func() {
				if !tc.midStream {
					_, err := sender.Write([]byte("hello"))
					werr <- err
					return
				}
				chunk := bytes.Repeat([]byte("x"), 1<<20)
				for range 256 {
					if _, err := sender.Write(chunk); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			first := make([]byte, 5)
			receiver.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(receiver, first); err != nil {
				t.Fatalf("receiver: %v", err)
			}
			if _, err := receiver.Write([]byte("!")); err != nil {
				t.Fatalf("receiver write: %v", err)
			}
			res := r.wait(t)
			if !errors.Is(res.err, ErrWrongDirection) {
				t.Fatalf("Relay error %v, want ErrWrongDirection", res.err)
			}
			wrong := res.c.ToClient
			if tc.dir == wire.Download {
				wrong = res.c.ToServer
			}
			if wrong != 1 {
				t.Fatalf("Relay counted %d wrong-way bytes (%+v), want 1", wrong, res.c)
			}
			if msg := res.err.Error(); !strings.Contains(msg, "1 bytes") || !strings.Contains(msg, tc.dir.String()) {
				t.Errorf("error %q does not name the count and the direction", msg)
			}
			// wire.NoData peers see the connection end; the stray byte reaches nobody.
			if _, err := readToEnd(t, "receiver", receiver); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("receiver: %v, want EOF or a reset", err)
			}
			if tc.midStream {
				if err := <-werr; err == nil {
					t.Error("sender wrote 256 MiB into a closed data channel without an error")
				}
			} else if err := <-werr; err != nil {
				t.Fatalf("sender write: %v", err)
			}
			got, err := readToEnd(t, "sender", sender)
			if len(got) != 0 {
				t.Errorf("sender received %q against the transfer's direction", got)
			}
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("sender: %v, want EOF or a reset", err)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.halves) != 2 || r.halves[tc.dir == wire.Download] != 1 {
				t.Errorf("half callbacks %v, want both directions, the forbidden one with 1", r.halves)
			}
		})
	}
}

func TestRelayInvalidDirection(t *testing.T) {
	peerA, a := tcpPair(t)
	b, peerB := tcpPair(t)
	if _, err := Relay(context.Background(), a, b, wire.Direction(7), nil); err == nil {
		t.Fatal("Relay accepted Direction(7)")
	}
	for name, c := range map[string]*net.TCPConn{"A": peerA, "B": peerB} {
		if got, _ := readToEnd(t, name, c); len(got) != 0 {
			t.Errorf("peer %s read %q", name, got)
		}
	}
}
