package nft

import (
	"context"
	"testing"
	"time"
)

// TestWatch: deleting and creating the table are reported at once; another table is not;
// the channel closes when the context ends.
func TestWatch(t *testing.T) {
	ns := newTestNS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wctx, stop := context.WithCancel(ctx)
	ch, err := Watch(wctx, Config{}, WithNetNS(ns.fd))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string, want bool) {
		t.Helper()
		select {
		case _, ok := <-ch:
			if !want || !ok {
				t.Fatalf("%s: unexpected value (open %v)", what, ok)
			}
		case <-time.After(500 * time.Millisecond):
			if want {
				t.Fatalf("%s: not reported", what)
			}
		}
	}
	ns.nft(t, "add", "table", "inet", "other")
	expect("another table", false)
	loadRender(t, ns, Config{})
	expect("table loaded", true)
	ns.nft(t, "flush", "ruleset")
	expect("flush ruleset", true)
	stop()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel did not close after the context ended")
	}
}
