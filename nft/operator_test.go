package nft

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadRender loads Render(cfg) into the namespace with nft -f, replacing the table as
// deploy/ftpgate.nft does.
func loadRender(t *testing.T, ns testNS, cfg Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ftpgate.nft")
	name := cfg.WithDefaults().Table
	text := "table inet " + name + "\ndelete table inet " + name + "\n" + Render(cfg)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ns.nft(t, "-f", path)
}

func newTestOperator(t *testing.T, cfg Config) (*Operator, testNS) {
	t.Helper()
	ns := newTestNS(t)
	o, err := NewOperator(cfg, WithNetNS(ns.fd))
	if err != nil {
		t.Fatal(err)
	}
	return o, ns
}

// TestOperatorVerify: Setup of an Operator changes nothing; it fails, wrapping ErrIncomplete
// and naming the part, when the table, a set, a set's flag or a chain is missing, and
// succeeds on the table the operator loaded from Render.
func TestOperatorVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o, ns := newTestOperator(t, Config{})
	if err := o.Setup(ctx); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "table inet ftpgate does not exist") {
		t.Fatalf("Setup without the table: %v, want ErrIncomplete naming the table", err)
	}
	if out := ns.nft(t, "list", "ruleset"); out != "" {
		t.Fatalf("Setup created something:\n%s", out)
	}
	loadRender(t, ns, Config{})
	if err := o.Setup(ctx); err != nil {
		t.Fatalf("Setup on the loaded table: %v", err)
	}
	ns.nft(t, "flush", "chain", "inet", "ftpgate", "prerouting") // no rule may refer to data6
	ns.nft(t, "delete", "set", "inet", "ftpgate", "data6")
	ns.nft(t, "add", "set", "inet", "ftpgate", "data6", "{ type ipv4_addr; }")
	ns.nft(t, "delete", "chain", "inet", "ftpgate", "cut")
	err := o.Check(ctx)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Check: %v, want ErrIncomplete", err)
	}
	for _, want := range []string{"set data6 has type ipv4_addr, want ipv6_addr . ipv6_addr . inet_service",
		"set data6 lacks flags timeout", "chain prerouting has 0 rules, want at least 5", "chain cut missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check: %v\nwant it to say %q", err, want)
		}
	}
}

// TestOperatorElements: an Operator's elements carry their comments into the kernel (nft
// list set shows them), and Teardown removes only its own elements, never the table or an
// element the operator added.
func TestOperatorElements(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o, ns := newTestOperator(t, Config{})
	loadRender(t, ns, Config{})
	if err := o.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	ns.nft(t, "add", "element", "inet", "ftpgate", "data4", "{ 192.0.2.9 . 192.0.2.10 . 999 timeout 1h }")
	mine := []Element{
		{Src: netip.MustParseAddr("198.51.100.2"), Dst: netip.MustParseAddr("203.0.113.2"), Port: 40001, Comment: "session 12 PASV"},
		{Src: netip.MustParseAddr("2001:db8::2"), Dst: netip.MustParseAddr("2001:db8:1::2"), Port: 40002, Comment: "session 13 EPSV"},
	}
	for _, e := range mine {
		if err := o.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for set, want := range map[string]string{SetData4: `comment "session 12 PASV"`, SetData6: `comment "session 13 EPSV"`} {
		if out := ns.nft(t, "list", "set", "inet", "ftpgate", set); !strings.Contains(out, want) {
			t.Errorf("nft list set %s lacks %s:\n%s", set, want, out)
		}
	}
	els, err := o.Elements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	comments := map[string]bool{}
	for _, e := range els {
		comments[e.Comment] = true
	}
	if !comments["session 12 PASV"] || !comments["session 13 EPSV"] {
		t.Errorf("Elements lost the comments: %v", els)
	}
	// The operator reloads the rule set: the table is replaced, its sets empty; Check
	// re-adds ftpgate's elements with their comments, not the operator's.
	loadRender(t, ns, Config{})
	if err := o.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if out := ns.nft(t, "list", "set", "inet", "ftpgate", SetData4); !strings.Contains(out, `comment "session 12 PASV"`) || strings.Contains(out, "192.0.2.9") {
		t.Errorf("after a reload and Check, want ftpgate's element back:\n%s", out)
	}
	ns.nft(t, "add", "element", "inet", "ftpgate", "data4", "{ 192.0.2.9 . 192.0.2.10 . 999 timeout 1h }")
	if err := o.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	out := ns.nft(t, "list", "table", "inet", "ftpgate")
	if !strings.Contains(out, "192.0.2.9 . 192.0.2.10 . 999") || strings.Contains(out, "session 1") {
		t.Errorf("after Teardown, want the operator's element only:\n%s", out)
	}
	if err := o.Check(ctx); err != nil {
		t.Errorf("Teardown damaged the table: %v", err)
	}
}
