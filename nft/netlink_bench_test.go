package nft

import (
	"context"
	"net/netip"
	"testing"
)

// BenchmarkNetlinkAddDelete is one data channel's expectation on the proxy path: an element
// added, then deleted, in a namespace of its own (root only). On a lasting netlink
// connection it takes tens of microseconds; with a socket per operation the delete alone
// took about 12 ms.
func BenchmarkNetlinkAddDelete(b *testing.B) {
	n, _ := newTestNetlink(b, Config{})
	ctx := context.Background()
	mustSetup(b, n)
	e := Element{Src: netip.MustParseAddr("198.51.100.2"), Dst: netip.MustParseAddr("203.0.113.2")}
	b.ResetTimer()
	for i := range b.N {
		e.Port = uint16(1024 + i%60000)
		if err := n.Add(ctx, e); err != nil {
			b.Fatal(err)
		}
		if err := n.Delete(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}
