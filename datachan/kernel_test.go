package datachan

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/wire"
)

// TestKernelChannel: a kernel path channel opens its pinhole and no nftables element;
// once activated it reads the kernel's counters, maps them to the transfer's directions
// (an active-mode pinhole runs from the server), and when the connection has ended its
// Result is final, the session is told, and Done is closed. A superseded unused pinhole is
// cancelled.
func TestKernelChannel(t *testing.T) {
	ctx := context.Background()
	fake, reg := newFakeRegistry(t, 30*time.Second)
	k := kpath.NewFake()
	peer := newTestPeer()
	set := NewSet(Config{Owner: 9, Expect: reg, Dialer: loopDialer{}, Kernel: k, PinholeTimeout: time.Second}, peer)
	defer set.Close(ctx)
	server, client := netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("198.51.100.2")

	// Active mode: the server connects to the client.
	p := kpath.Pinhole{Src: server, Dst: client, Port: 40000}
	ch, err := set.Open(ctx, Spec{Kernel: &KernelSpec{Pinhole: p, SrcIsClient: false}})
	if err != nil {
		t.Fatal(err)
	}
	h, ok := k.OpenPinhole(9)
	if !ok || h.Pinhole != p {
		t.Fatalf("open pinhole %v (%v), want %v", h, ok, p)
	}
	if els, _ := fake.Elements(ctx); len(els) != 0 {
		t.Fatalf("a kernel channel installed nftables elements: %v", els)
	}
	if set.Begin() != ch {
		t.Fatal("Begin did not hand out the kernel channel")
	}
	ch.Activate(wire.Download)
	k.SetFlow(h, kpath.Flow{Seen: true, FromSrc: 5000, ToSrc: 0})
	ch.Hurry()
	for i := 0; i < 200 && ch.Result().ToClient != 5000; i++ { // at most 2 s
		time.Sleep(10 * time.Millisecond)
	}
	if ch.Result().ToClient != 5000 {
		t.Fatalf("running: Result %+v, want 5000 bytes to the client", ch.Result())
	}
	k.SetFlow(h, kpath.Flow{Seen: true, FromSrc: 7000, ToSrc: 40, Closed: true})
	ch.Hurry()
	select {
	case <-peer.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the session was not told that the kernel path's connection ended")
	}
	select {
	case <-ch.Done(wire.Download):
	case <-time.After(time.Second):
		t.Fatal("Done not closed")
	}
	if r := ch.Result(); r.ToClient != 7000 || r.ToServer != 40 || !r.Arrived || r.Path != PathKernel {
		t.Fatalf("final Result %+v", r)
	}

	// ABOR of a running kernel path transfer cuts its connection at the box.
	ab, err := set.Open(ctx, Spec{Kernel: &KernelSpec{Pinhole: kpath.Pinhole{Src: server, Dst: client, Port: 40002}}})
	if err != nil {
		t.Fatal(err)
	}
	set.Begin()
	ab.Activate(wire.Download)
	abh, _ := k.OpenPinhole(9)
	k.SetFlow(abh, kpath.Flow{Seen: true, FromSrc: 1000})
	set.Abort()
	if cut := k.CutHandles(); len(cut) != 1 || cut[0] != abh {
		t.Fatalf("cut connections %v, want the aborted transfer's %v", cut, abh)
	}

	// Passive mode, superseded before any connection: its pinhole is cancelled.
	q := kpath.Pinhole{Src: client, Dst: server, Port: 40001}
	if _, err := set.Open(ctx, Spec{Kernel: &KernelSpec{Pinhole: q, SrcIsClient: true}}); err != nil {
		t.Fatal(err)
	}
	set.Supersede()
	if h, ok := k.OpenPinhole(9); ok {
		t.Fatalf("superseded pinhole still open: %v", h)
	}
}
