package datachan

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/wire"
)

// testPeer records what a channel tells its session.
type testPeer struct {
	mu      sync.Mutex
	relayed []*Channel
	done    chan struct{}
}

func newTestPeer() *testPeer { return &testPeer{done: make(chan struct{}, 4)} }

func (p *testPeer) Secure(_ context.Context, _ Side, c *net.TCPConn) (net.Conn, TLSInfo, error) {
	return c, TLSInfo{Desc: "plain-for-test", Resumed: true}, nil
}

func (p *testPeer) Relayed(ch *Channel) {
	p.mu.Lock()
	p.relayed = append(p.relayed, ch)
	p.mu.Unlock()
	p.done <- struct{}{}
}

// loopDialer dials plain loopback connections, ignoring the source address.
type loopDialer struct{}

func (loopDialer) Dial(ctx context.Context, _ netip.Addr, dst netip.AddrPort) (*net.TCPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp4", dst.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// TestSetLifecycle: Open installs the listening legs' elements, a later Open supersedes the
// channel no transfer used (its element removed, its ports released), and Close removes
// everything.
func TestSetLifecycle(t *testing.T) {
	ctx := context.Background()
	f, reg := newFakeRegistry(t, 30*time.Second)
	ports, err := NewPorts(40000, 40009)
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(Config{Owner: 7, Expect: reg, Dialer: loopDialer{}, Ports: ports, ConnectTimeout: time.Second}, newTestPeer())
	reserved, err := set.Reserve(2)
	if err != nil || ports.InUse() != 2 {
		t.Fatalf("Reserve: %v, %v (in use %d)", reserved, err, ports.InUse())
	}
	first, err := set.Open(ctx, Spec{
		Client: Leg{Listen: true, Expect: nft.Element{Src: client, Dst: server, Port: reserved[0]}},
		Server: Leg{Listen: true, Expect: nft.Element{Src: server, Dst: client, Port: reserved[1]}},
		Ports:  reserved,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := elementsOf(t, f); got == "" || reg.Len() != 2 {
		t.Fatalf("after Open: elements %q, registry %d; want both legs expected", got, reg.Len())
	}
	if _, err := set.Open(ctx, Spec{Client: Leg{Listen: true, Expect: nft.Element{Src: client, Dst: server, Port: 40100}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := elementsOf(t, f), `198.51.100.2 . 203.0.113.2 . 40100 timeout 30s comment "session 7"`; got != want {
		t.Fatalf("after the second Open: elements %q, want only %q", got, want)
	}
	if ports.InUse() != 0 {
		t.Errorf("superseded channel kept %d ports", ports.InUse())
	}
	if res := first.Result(); !errors.Is(res.Err, ErrClosed) {
		t.Errorf("superseded channel's result error %v, want ErrClosed", res.Err)
	}
	set.Close(ctx)
	if got := elementsOf(t, f); got != "" || reg.Len() != 0 {
		t.Fatalf("after Close: elements %q, registry %d", got, reg.Len())
	}
	if _, err := set.Open(ctx, Spec{Client: Leg{Listen: true, Expect: nft.Element{Src: client, Dst: server, Port: 40101}}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close: %v, want ErrClosed", err)
	}
	if got := elementsOf(t, f); got != "" {
		t.Fatalf("Open after Close left %q", got)
	}
}

// TestChannelCarriesOneWay: a channel whose client leg listens (the connection arrives
// through the data listener) and whose server leg connects carries a download one way, tells
// the session when its bytes have moved, and reports the counts; a byte against the
// direction fails it.
func TestChannelCarriesOneWay(t *testing.T) {
	for _, wrongWay := range []bool{false, true} {
		name := "download"
		if wrongWay {
			name = "byte against the direction"
		}
		t.Run(name, func(t *testing.T) { testChannel(t, wrongWay) })
	}
}

func testChannel(t *testing.T, wrongWay bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, reg := newFakeRegistry(t, 30*time.Second)
	dataLn, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Registry: reg}
	go srv.Serve(ctx, dataLn)
	defer srv.Wait()
	serverLn, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer serverLn.Close()

	peer := newTestPeer()
	set := NewSet(Config{Owner: 1, Expect: reg, Dialer: loopDialer{}, ConnectTimeout: 5 * time.Second}, peer)
	defer set.Close(ctx)
	dataPort := uint16(dataLn.Addr().(*net.TCPAddr).Port)
	ch, err := set.Open(ctx, Spec{
		Client: Leg{Listen: true, Expect: nft.Element{Src: loopback, Dst: loopback, Port: dataPort}},
		Server: Leg{To: serverLn.Addr().(*net.TCPAddr).AddrPort(), TLS: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := net.Dial("tcp4", dataLn.Addr().String()) // the client's data connection
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, err := serverLn.AcceptTCP() // the leg that connects is dialled once the client arrived
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if got := set.Begin(); got != ch {
		t.Fatal("Begin did not hand over the negotiated channel")
	}
	ch.Activate(wire.Download)
	payload := bytes.Repeat([]byte("datachan"), 8192)
	if wrongWay {
		cc.Write([]byte("x"))
	} else {
		go func() {
			sc.Write(payload)
			sc.CloseWrite()
		}()
		cc.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(cc)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("client read %d bytes, %v; want %d", len(got), err, len(payload))
		}
		cc.Close()
	}
	select {
	case <-peer.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session never heard that the channel's bytes moved")
	}
	select {
	case <-ch.Done(wire.Download):
	case <-time.After(10 * time.Second):
		t.Fatal("Done(Download) never closed")
	}
	res := ch.Result()
	if !res.Arrived || res.TLS[ServerLeg] != (TLSInfo{Desc: "plain-for-test", Resumed: true}) || res.TLS[ClientLeg] != (TLSInfo{}) {
		t.Errorf("result %+v: want arrived, the server leg secured by the peer", res)
	}
	if wrongWay {
		if !errors.Is(res.Err, ErrWrongDirection) {
			t.Errorf("result error %v, want ErrWrongDirection", res.Err)
		}
		return
	}
	if res.Err != nil || res.ToClient != int64(len(payload)) || res.ToServer != 0 {
		t.Errorf("result %+v, want %d bytes to the client and no error", res, len(payload))
	}
}

// TestClaimedChannelLeavesNextExpectation: a channel whose expectation was used (its
// connection came) and that closes only after the session opened the next channel for the
// same addresses and port (the server gave the same port again) leaves the next channel's
// expectation alone. Before, its withdrawal removed it, and the client's next data
// connection was refused as unexpected.
func TestClaimedChannelLeavesNextExpectation(t *testing.T) {
	ctx := context.Background()
	f, reg := newFakeRegistry(t, 30*time.Second)
	set := NewSet(Config{Owner: 7, Expect: reg, Dialer: loopDialer{}, ConnectTimeout: time.Second}, newTestPeer())
	defer set.Close(ctx)
	key := nft.Element{Src: client, Dst: server, Port: 30589}
	first, err := set.Open(ctx, Spec{Client: Leg{Listen: true, Expect: key}})
	if err != nil {
		t.Fatal(err)
	}
	set.Begin() // a transfer takes it
	owner, h, ok := reg.Claim(ctx, netip.AddrPortFrom(client, 40000), netip.AddrPortFrom(server, key.Port))
	if !ok || owner != 7<<1 {
		t.Fatalf("claim: %v, owner %d", ok, owner)
	}
	a, b := tcpPair(t)
	defer a.Close()
	h(b)
	if _, err := set.Open(ctx, Spec{Client: Leg{Listen: true, Expect: key}}); err != nil {
		t.Fatal(err)
	}
	first.Close(nil) // the first transfer's channel closes late
	if got, want := elementsOf(t, f), `198.51.100.2 . 203.0.113.2 . 30589 timeout 30s comment "session 7"`; got != want || reg.Len() != 1 {
		t.Fatalf("after the first channel closed: elements %q (registry %d), want the second's %q", got, reg.Len(), want)
	}
}
