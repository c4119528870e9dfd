package kpath

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ti-mo/conntrack"
)

// TestChildren: NEW events of expected connections with the kernel path's mark are kept by
// mark, others are ignored; a lost event makes pinholes of the earlier generation untrusted;
// forget drops a connection.
func TestChildren(t *testing.T) {
	c := newChildren(DefaultMark, DefaultMask)
	gen := c.generation()
	ours := conntrack.Flow{Mark: DefaultMark | 7, Status: conntrack.StatusExpected | conntrack.StatusConfirmed,
		TupleOrig: tuple(netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("203.0.113.2"), 40000, 50000)}
	c.add(ours)
	c.add(conntrack.Flow{Mark: DefaultMark | 8, Status: conntrack.StatusConfirmed}) // a master: not expected
	c.add(conntrack.Flow{Mark: 0x12000009, Status: conntrack.StatusExpected})       // someone else's mark
	c.add(conntrack.Flow{Mark: DefaultMark | 10, Status: conntrack.StatusExpected}) // ours
	if ch, found, trusted := c.lookup(DefaultMark|7, gen); !found || !trusted || ch.orig.Proto.SourcePort != 40000 {
		t.Fatalf("lookup of mark 7: %+v %v %v", ch, found, trusted)
	}
	for _, m := range []uint32{DefaultMark | 8, 0x12000009} {
		if _, found, _ := c.lookup(m, gen); found {
			t.Errorf("mark %#x was kept", m)
		}
	}
	if _, found, _ := c.lookup(DefaultMark|10, gen); !found {
		t.Error("mark 10 was not kept")
	}
	c.lost()
	if _, found, trusted := c.lookup(DefaultMark|11, gen); found || trusted {
		t.Errorf("after lost events a pinhole of the earlier generation is trusted: %v %v", found, trusted)
	}
	if _, _, trusted := c.lookup(DefaultMark|11, c.generation()); !trusted {
		t.Error("a pinhole of the new generation is not trusted")
	}
	c.seen(DefaultMark|7, ours)
	if ch, _, _ := c.lookup(DefaultMark|7, gen); ch.last == nil {
		t.Error("seen did not keep the last reading")
	}
	c.forget(DefaultMark | 7)
	if _, found, _ := c.lookup(DefaultMark|7, gen); found {
		t.Error("forget kept the connection")
	}
}

// TestChildrenSweep: with many connections kept, old ones go, and pinholes opened before the
// sweep are no longer trusted (a dump finds their connection).
func TestChildrenSweep(t *testing.T) {
	c := newChildren(DefaultMark, DefaultMask)
	gen := c.generation()
	for i := uint32(1); i <= sweepAbove; i++ {
		c.add(conntrack.Flow{Mark: DefaultMark | i, Status: conntrack.StatusExpected})
	}
	c.mu.Lock()
	old := c.byMark[DefaultMark|1]
	old.at = time.Now().Add(-2 * childLife)
	c.byMark[DefaultMark|1] = old
	c.mu.Unlock()
	c.add(conntrack.Flow{Mark: DefaultMark | (sweepAbove + 1), Status: conntrack.StatusExpected})
	if _, found, trusted := c.lookup(DefaultMark|1, gen); found || trusted {
		t.Errorf("after the sweep: the old connection found %v, trusted %v", found, trusted)
	}
	if _, found, _ := c.lookup(DefaultMark|2, gen); !found {
		t.Error("the sweep dropped a young connection")
	}
}
