package nft

import (
	"context"
	"errors"
	"regexp"
	"testing"
)

// TestNetlinkCheck: Check passes on the table Setup built and names what is gone after the
// chain was flushed, the table deleted or the whole ruleset flushed; Setup restores it.
func TestNetlinkCheck(t *testing.T) {
	n, ns := newTestNetlink(t, Config{})
	ctx := context.Background()
	mustSetup(t, n)
	if err := n.Check(ctx); err != nil {
		t.Fatalf("Check after Setup: %v", err)
	}
	for _, loss := range [][]string{
		{"flush", "chain", "inet", DefaultTable, "prerouting"},
		{"delete", "rule", "inet", DefaultTable, "prerouting", "handle", "HANDLE"},
		{"delete", "table", "inet", DefaultTable},
		{"flush", "ruleset"},
	} {
		if loss[1] == "rule" {
			loss[len(loss)-1] = firstRuleHandle(t, ns)
		}
		ns.nft(t, loss...)
		if err := n.Check(ctx); !errors.Is(err, ErrIncomplete) {
			t.Errorf("Check after nft %v: %v, want ErrIncomplete", loss, err)
		}
		mustSetup(t, n)
		if err := n.Check(ctx); err != nil {
			t.Errorf("Check after Setup restored the table (nft %v): %v", loss, err)
		}
	}
}

// TestFakeCheck: the fake reports a lost table until Setup.
func TestFakeCheck(t *testing.T) {
	ctx := context.Background()
	f := NewFake(Config{})
	if err := f.Check(ctx); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Check before Setup: %v", err)
	}
	if err := f.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(ctx); err != nil {
		t.Fatalf("Check after Setup: %v", err)
	}
	f.Lose()
	if err := f.Check(ctx); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Check after Lose: %v", err)
	}
}

// firstRuleHandle returns the handle of the first rule of the prerouting chain.
func firstRuleHandle(t *testing.T, ns testNS) string {
	t.Helper()
	out := ns.nft(t, "-a", "list", "chain", "inet", DefaultTable, "prerouting")
	m := regexp.MustCompile(`accept # handle (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no rule handle in:\n%s", out)
	}
	return m[1]
}
