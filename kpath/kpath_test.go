package kpath

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func TestPayload(t *testing.T) {
	for _, tt := range []struct {
		bytes, packets int64
		v4             bool
		want           int64
	}{
		{0, 0, true, 0},
		{52*3 + 8, 3, true, 0},  // SYN, ACK, FIN: no payload
		{72*3 + 8, 3, false, 0}, // the same over IPv6
		{52*4 + 8 + 1000, 4, true, 1000},
		{10, 5, true, 0}, // never negative
	} {
		if got := Payload(tt.bytes, tt.packets, tt.v4); got != tt.want {
			t.Errorf("Payload(%d, %d, v4=%v) = %d, want %d", tt.bytes, tt.packets, tt.v4, got, tt.want)
		}
	}
}

func TestPinholeNormalize(t *testing.T) {
	v4, v6 := netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("2001:db8:2::2")
	mapped := netip.AddrFrom16(v4.As16())
	p, err := Pinhole{Src: mapped, Dst: netip.MustParseAddr("203.0.113.2"), Port: 40000}.normalize()
	if err != nil || p.Src != v4 {
		t.Fatalf("mapped source: %v, %v", p, err)
	}
	for _, bad := range []Pinhole{{Src: v4, Dst: v6, Port: 1}, {Src: v4, Port: 1}, {Src: v4, Dst: v4}} {
		if _, err := bad.normalize(); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestFake: an owner has one open pinhole; a new one supersedes it, Cancel closes only the
// one named, and a used pinhole is no longer open.
func TestFake(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	p := Pinhole{Src: netip.MustParseAddr("198.51.100.2"), Dst: netip.MustParseAddr("203.0.113.2"), Port: 40000}
	h1, _ := f.Open(ctx, 7, p, time.Second)
	p.Port++
	h2, _ := f.Open(ctx, 7, p, time.Second)
	if got, _ := f.OpenPinhole(7); got != h2 {
		t.Fatalf("open pinhole %v, want the newer %v", got, h2)
	}
	f.Cancel(ctx, 7, h1) // the old one: nothing happens
	if _, ok := f.OpenPinhole(7); !ok {
		t.Fatal("Cancel of a superseded pinhole closed the current one")
	}
	f.SetFlow(h2, Flow{Seen: true, FromSrc: 5})
	if _, ok := f.OpenPinhole(7); ok {
		t.Fatal("a used pinhole is still open")
	}
	if fl, _ := f.Flow(ctx, h2); fl.FromSrc != 5 {
		t.Fatalf("Flow = %v", fl)
	}
}
