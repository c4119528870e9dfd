package nft

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// TestRenderMarkMask: the whole mark is set with an immediate; a partial mask keeps the
// other bits, and a mark outside its mask is refused.
func TestRenderMarkMask(t *testing.T) {
	if got := Render(Config{}); !strings.Contains(got, "tproxy to :2121 meta mark set 0x1 accept") {
		t.Errorf("default mark:\n%s", got)
	}
	got := Render(Config{Mark: 0x100, MarkMask: 0xff00})
	if n := strings.Count(got, "meta mark set meta mark & 0xffff00ff | 0x00000100 accept"); n != 4 {
		t.Errorf("masked mark in %d rules, want 4:\n%s", n, got)
	}
	if err := (Config{Mark: 0x101, MarkMask: 0xff00}).Validate(); err == nil {
		t.Error("a mark outside its mask was accepted")
	}
}

// TestElementComment: comments are printed as nft prints them, cut to MaxComment bytes on
// a character boundary, and not part of an element's identity (the Fake keeps the first).
func TestElementComment(t *testing.T) {
	e := Element{Src: netip.MustParseAddr("198.51.100.2"), Dst: netip.MustParseAddr("203.0.113.2"), Port: 40001, Comment: `session 12 "PASV"`}
	n, err := e.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.String(), `198.51.100.2 . 203.0.113.2 . 40001 comment "session 12 'PASV'"`; got != want {
		t.Errorf("String: %s, want %s", got, want)
	}
	long := strings.Repeat("é", MaxComment)
	if c := cutComment(long); len(c) > MaxComment || !strings.HasPrefix(long, c) || len(c) < MaxComment-1 {
		t.Errorf("cutComment: %d bytes %q", len(c), c)
	}
	f := NewFake(Config{})
	ctx := context.Background()
	if err := f.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"session 1 PASV", "session 2 PASV"} {
		e.Comment = c
		if err := f.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if txt := f.Text(); !strings.Contains(txt, `timeout 30s comment "session 1 PASV" }`) || strings.Contains(txt, "session 2") {
		t.Errorf("fake text:\n%s", txt)
	}
}
