package datachan

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/wire"
)

// TestPacketFilterChannel: under a packet filter, a kernel path pinhole opens with both
// directions queued (and the bypass flag when the policy fails open), and the transfer
// narrows the queue to the direction its bytes take: the reply direction for a passive
// download or an active upload, the original one otherwise. Without a queue the channel is
// refused (ErrNoPacketQueue), never left unfiltered.
func TestPacketFilterChannel(t *testing.T) {
	ctx := context.Background()
	server, client := netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("198.51.100.2")
	for _, c := range []struct {
		name        string
		srcIsClient bool
		dir         wire.Direction
		bypass      bool
		want        uint32
	}{
		{"passive download", true, wire.Download, false, nft.QueueReply},
		{"passive upload", true, wire.Upload, true, nft.QueueOriginal | nft.QueueBypass},
		{"active download", false, wire.Download, false, nft.QueueOriginal},
		{"active upload", false, wire.Upload, false, nft.QueueReply},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, reg := newFakeRegistry(t, 30*time.Second)
			k := kpath.NewFake()
			q := pktfilter.NewQueue(pktfilter.QueueConfig{Num: 9})
			pf := &PacketFilter{Settings: pktfilter.Settings{Enabled: true, MaxSize: 1 << 20, Bypass: c.bypass}, Queue: q}
			set := NewSet(Config{Owner: 3, Expect: reg, Dialer: loopDialer{}, Kernel: k, PinholeTimeout: time.Second, Packets: pf}, newTestPeer())
			defer set.Close(ctx)
			p := kpath.Pinhole{Src: server, Dst: client, Port: 40000}
			if c.srcIsClient {
				p = kpath.Pinhole{Src: client, Dst: server, Port: 30000}
			}
			ch, err := set.Open(ctx, Spec{Kernel: &KernelSpec{Pinhole: p, SrcIsClient: c.srcIsClient}})
			if err != nil {
				t.Fatal(err)
			}
			both := nft.QueueOriginal | nft.QueueReply
			if c.bypass {
				both |= nft.QueueBypass
			}
			if got := k.Opened()[0].Queue; got != both {
				t.Errorf("the pinhole opened with queue flags %#x, want %#x", got, both)
			}
			if pending, _ := q.Len(); pending != 1 {
				t.Errorf("%d registrations with the queue, want 1", pending)
			}
			set.Begin()
			ch.Activate(c.dir)
			h, _ := k.OpenPinhole(3)
			if got, ok := k.Requeued(h); !ok || got != c.want {
				t.Errorf("narrowed to %#x (%v), want %#x", got, ok, c.want)
			}
			ch.Close(nil)
			if r := ch.Result(); r.Packets == nil {
				t.Error("the Result has no packet filter account")
			}
		})
	}

	t.Run("no queue", func(t *testing.T) {
		_, reg := newFakeRegistry(t, 30*time.Second)
		k := kpath.NewFake()
		pf := &PacketFilter{Settings: pktfilter.Settings{Enabled: true, MaxSize: 1}}
		set := NewSet(Config{Owner: 4, Expect: reg, Dialer: loopDialer{}, Kernel: k, PinholeTimeout: time.Second, Packets: pf}, newTestPeer())
		defer set.Close(ctx)
		_, err := set.Open(ctx, Spec{Kernel: &KernelSpec{Pinhole: kpath.Pinhole{Src: client, Dst: server, Port: 30001}, SrcIsClient: true}})
		if !errors.Is(err, ErrNoPacketQueue) {
			t.Fatalf("Open without a queue: %v, want ErrNoPacketQueue", err)
		}
		if len(k.Opened()) != 0 {
			t.Errorf("a pinhole opened without its filter: %v", k.Opened())
		}
	})
}
