package nft

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestElementKey(t *testing.T) {
	tests := []struct {
		name string
		e    Element
		set  string
		key  []byte
	}{
		{
			name: "ipv4",
			e:    Element{Src: netip.MustParseAddr("198.51.100.2"), Dst: netip.MustParseAddr("203.0.113.2"), Port: 40001},
			set:  SetData4,
			key:  []byte{198, 51, 100, 2, 203, 0, 113, 2, 0x9c, 0x41, 0, 0},
		},
		{
			name: "ipv4-mapped ipv6 goes to data4",
			e:    Element{Src: netip.MustParseAddr("::ffff:198.51.100.2"), Dst: netip.MustParseAddr("::ffff:203.0.113.2"), Port: 1024},
			set:  SetData4,
			key:  []byte{198, 51, 100, 2, 203, 0, 113, 2, 0x04, 0x00, 0, 0},
		},
		{
			name: "ipv6",
			e:    Element{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Port: 0x0102},
			set:  SetData6,
			key: []byte{
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
				0x01, 0x02, 0, 0,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.e.normalize()
			if err != nil {
				t.Fatal(err)
			}
			if got := e.setName(); got != tt.set {
				t.Errorf("set = %s, want %s", got, tt.set)
			}
			if got := e.key(); !bytes.Equal(got, tt.key) {
				t.Errorf("key = % x, want % x", got, tt.key)
			}
			back, err := elementFromKey(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if back != e {
				t.Errorf("elementFromKey = %v, want %v", back, e)
			}
		})
	}
	if _, err := elementFromKey(make([]byte, 10)); !errors.Is(err, errKeyLen) {
		t.Errorf("elementFromKey(10 bytes): err = %v, want errKeyLen", err)
	}
}

func TestElementNormalizeRejects(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name string
		e    Element
	}{
		{"mixed 4/6", Element{Src: v4, Dst: v6, Port: 2000}},
		{"mixed 6/4", Element{Src: v6, Dst: v4, Port: 2000}},
		{"invalid src", Element{Dst: v4, Port: 2000}},
		{"invalid dst", Element{Src: v6, Port: 2000}},
		{"port 0", Element{Src: v4, Dst: v4}},
		{"negative timeout", Element{Src: v4, Dst: v4, Port: 2000, Timeout: -time.Second}},
		{"sub-millisecond timeout", Element{Src: v4, Dst: v4, Port: 2000, Timeout: time.Microsecond}},
	}
	for _, tt := range tests {
		if _, err := tt.e.normalize(); err == nil {
			t.Errorf("%s: normalize(%v) succeeded", tt.name, tt.e)
		}
	}
	// A zone is dropped: the kernel key has no room for it.
	e, err := Element{Src: netip.MustParseAddr("fe80::1%eth0"), Dst: netip.MustParseAddr("fe80::2%eth0"), Port: 2000}.normalize()
	if err != nil || e.Src.Zone() != "" || e.Dst.Zone() != "" {
		t.Errorf("zone not dropped: %v, %v", e, err)
	}
}

func TestElementString(t *testing.T) {
	e := Element{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Port: 2000}
	if got, want := e.String(), "2001:db8::1 . 2001:db8::2 . 2000"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	e.Timeout = 1500 * time.Millisecond
	if got, want := e.String(), "2001:db8::1 . 2001:db8::2 . 2000 timeout 1s500ms"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
