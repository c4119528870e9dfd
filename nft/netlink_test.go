package nft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestNetlink returns a Netlink for cfg in a fresh namespace.
func newTestNetlink(t testing.TB, cfg Config) (*Netlink, testNS) {
	t.Helper()
	ns := newTestNS(t)
	n, err := NewNetlink(cfg, WithNetNS(ns.fd))
	if err != nil {
		t.Fatal(err)
	}
	return n, ns
}

// nftJSON is the part of `nft -j list table` the tests look at.
type nftJSON struct {
	Nftables []struct {
		Set *struct {
			Name    string   `json:"name"`
			Flags   []string `json:"flags"`
			Timeout int      `json:"timeout"`
			Elem    []struct {
				Elem struct {
					Val struct {
						Concat []any `json:"concat"`
					} `json:"val"`
				} `json:"elem"`
			} `json:"elem"`
		} `json:"set"`
		Rule *struct {
			Chain string `json:"chain"`
		} `json:"rule"`
	} `json:"nftables"`
}

// listJSON returns the sets (by name) and the rule count of the table as nft -j shows them.
func listJSON(t *testing.T, ns testNS, table string) (sets map[string][]string, flags map[string][]string, rules int) {
	t.Helper()
	var doc nftJSON
	if err := json.Unmarshal([]byte(ns.nft(t, "-j", "list", "table", "inet", table)), &doc); err != nil {
		t.Fatalf("parse nft -j: %v", err)
	}
	sets, flags = map[string][]string{}, map[string][]string{}
	for _, o := range doc.Nftables {
		if o.Set != nil {
			flags[o.Set.Name] = o.Set.Flags
			sets[o.Set.Name] = []string{}
			for _, e := range o.Set.Elem {
				var parts []string
				for _, p := range e.Elem.Val.Concat {
					parts = append(parts, fmt.Sprint(p))
				}
				sets[o.Set.Name] = append(sets[o.Set.Name], strings.Join(parts, " . "))
			}
		}
		if o.Rule != nil {
			rules++
		}
	}
	return sets, flags, rules
}

func TestNetlinkSetupShowsTable(t *testing.T) {
	n, ns := newTestNetlink(t, Config{})
	mustSetup(t, n)
	out := ns.nft(t, "list", "table", "inet", DefaultTable)
	for _, want := range []string{
		"set data4 {\n\t\ttype ipv4_addr . ipv4_addr . inet_service\n\t\ttimeout 30s\n",
		"set data6 {\n\t\ttype ipv6_addr . ipv6_addr . inet_service\n\t\ttimeout 30s\n",
		"type filter hook prerouting priority mangle; policy accept;",
		"\t\tct mark 0x46000000/8 accept\n", // nft prints the masked mark as a prefix
		"\t\tmeta l4proto tcp socket transparent 1 meta mark set 0x00000001 accept\n",
		"\t\ttcp dport 21 tproxy to :2121 meta mark set 0x00000001 accept\n",
		"\t\tip saddr . ip daddr . tcp dport @data4 tproxy ip to :2120 meta mark set 0x00000001 accept\n",
		"\t\tip6 saddr . ip6 daddr . tcp dport @data6 tproxy ip6 to :2120 meta mark set 0x00000001 accept\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list table lacks %q:\n%s", want, out)
		}
	}
	_, flags, rules := listJSON(t, ns, DefaultTable)
	for _, s := range []string{SetData4, SetData6} {
		if !slices.Contains(flags[s], "timeout") {
			t.Errorf("set %s flags = %v, want timeout", s, flags[s])
		}
	}
	if rules != 8 { // 5 in prerouting, 2 in guard, 1 in cut
		t.Errorf("%d rules, want 8", rules)
	}
}

// TestNetlinkMatchesRender checks that the table Netlink builds is the table nft builds from
// Render's text: both listed by nft must be identical.
func TestNetlinkMatchesRender(t *testing.T) {
	masked := Config{Mark: 0x100, MarkMask: 0xff00}
	for name, cfg := range map[string]Config{"default": {}, "custom": customConfig, "masked": masked} {
		t.Run(name, func(t *testing.T) {
			n, nsNetlink := newTestNetlink(t, cfg)
			mustSetup(t, n)
			nsText := newTestNS(t)
			path := filepath.Join(t.TempDir(), "table.nft")
			if err := os.WriteFile(path, []byte(Render(cfg)), 0o600); err != nil {
				t.Fatal(err)
			}
			nsText.nft(t, "-f", path)
			table := cfg.WithDefaults().Table
			// --debug=netlink shows the bytecode; drop the rule handles, which may differ.
			handles := regexp.MustCompile(`(?m)^(inet \S+ \S+)( \d+)+$`)
			viaNetlink := handles.ReplaceAllString(nsNetlink.nft(t, "--debug=netlink", "list", "table", "inet", table), "$1")
			viaText := handles.ReplaceAllString(nsText.nft(t, "--debug=netlink", "list", "table", "inet", table), "$1")
			if viaNetlink != viaText {
				t.Errorf("tables differ\nnetlink:\n%s\nnft -f Render:\n%s", viaNetlink, viaText)
			}
		})
	}
}

func TestNetlinkSetupReplacesStaleTable(t *testing.T) {
	n, ns := newTestNetlink(t, Config{})
	mustSetup(t, n)
	mustAdd(t, n, sampleElements()[0])
	// A second daemon start: the stale table (with its element) is replaced, rules not doubled.
	mustSetup(t, n)
	sets, _, rules := listJSON(t, ns, DefaultTable)
	if rules != 8 {
		t.Errorf("%d rules after second Setup, want 8", rules)
	}
	if len(sets[SetData4]) != 0 {
		t.Errorf("stale elements survived Setup: %v", sets[SetData4])
	}
	if out := ns.nft(t, "list", "tables"); strings.Count(out, "table inet ftpgate") != 1 {
		t.Errorf("nft list tables = %q, want one ftpgate table", out)
	}
}

func TestNetlinkElements(t *testing.T) {
	ctx := context.Background()
	n, ns := newTestNetlink(t, Config{})
	mustSetup(t, n)
	elems := sampleElements()
	for _, e := range elems {
		mustAdd(t, n, e)
	}
	// Re-adding is not an error.
	mustAdd(t, n, elems[0])
	out := ns.nft(t, "list", "table", "inet", DefaultTable)
	for _, want := range []string{
		"198.51.100.2 . 203.0.113.2 . 40001 expires ",        // set default timeout
		"192.0.2.7 . 203.0.113.2 . 1024 timeout 2m expires ", // own timeout
		"2001:db8::1 . 2001:db8::2 . 50000 timeout 5s expires ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list lacks %q:\n%s", want, out)
		}
	}
	got, err := n.Elements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []Element{elems[2], elems[0], elems[1]}
	if len(got) != len(wantOrder) {
		t.Fatalf("Elements = %v, want %v", got, wantOrder)
	}
	for i, w := range wantOrder {
		g := got[i]
		limit := w.Timeout
		if limit == 0 {
			limit = DefaultTimeout
		}
		if g.Src != w.Src || g.Dst != w.Dst || g.Port != w.Port || g.Timeout <= 0 || g.Timeout > limit {
			t.Errorf("Elements[%d] = %v, want %v with 0 < timeout <= %v", i, g, w, limit)
		}
	}

	for _, e := range elems {
		mustDelete(t, n, e)
	}
	if got, err := n.Elements(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Elements after Delete = %v, %v; want none", got, err)
	}
	sets, _, _ := listJSON(t, ns, DefaultTable)
	if len(sets[SetData4])+len(sets[SetData6]) != 0 {
		t.Fatalf("nft still shows elements: %v", sets)
	}
	// Deleting again (element used or expired) is not an error.
	for _, e := range elems {
		mustDelete(t, n, e)
	}
}

func TestNetlinkElementExpires(t *testing.T) {
	ctx := context.Background()
	n, ns := newTestNetlink(t, Config{})
	mustSetup(t, n)
	short := Element{Src: netip.MustParseAddr("198.51.100.9"), Dst: netip.MustParseAddr("203.0.113.9"), Port: 30000, Timeout: time.Second}
	long := Element{Src: netip.MustParseAddr("198.51.100.9"), Dst: netip.MustParseAddr("203.0.113.9"), Port: 30001}
	mustAdd(t, n, short)
	mustAdd(t, n, long)
	if got, _ := n.Elements(ctx); len(got) != 2 {
		t.Fatalf("Elements = %v, want 2", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := n.Elements(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Port == long.Port {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("1s element still present after 5s: %v\n%s", got, ns.nft(t, "list", "set", "inet", DefaultTable, SetData4))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The expired element is gone for Delete too: no error.
	mustDelete(t, n, short)
}

func TestNetlinkTeardown(t *testing.T) {
	ctx := context.Background()
	n, ns := newTestNetlink(t, Config{Table: "ftpg_td"})
	mustSetup(t, n)
	if out := ns.nft(t, "list", "tables"); !strings.Contains(out, "table inet ftpg_td") {
		t.Fatalf("nft list tables = %q, want ftpg_td", out)
	}
	if err := n.Teardown(ctx); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if out := ns.nft(t, "list", "tables"); strings.Contains(out, "ftpg_td") {
		t.Fatalf("table still listed after Teardown: %q", out)
	}
	if err := n.Teardown(ctx); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	// Without a table, Add fails, Delete does not, Elements fails.
	e := sampleElements()[0]
	if err := n.Add(ctx, e); err == nil {
		t.Error("Add without table succeeded")
	}
	mustDelete(t, n, e)
	if _, err := n.Elements(ctx); err == nil {
		t.Error("Elements without table succeeded")
	}
}

func TestNetlinkRejectsBadElements(t *testing.T) {
	// Validation happens before the kernel is asked, so no namespace is needed.
	n, err := NewNetlink(Config{})
	if err != nil {
		t.Fatal(err)
	}
	mixed := Element{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("2001:db8::1"), Port: 2000}
	if err := n.Add(context.Background(), mixed); err == nil || !strings.Contains(err.Error(), "mixed") {
		t.Errorf("Add(mixed) = %v, want mixed-family error", err)
	}
	if err := n.Delete(context.Background(), mixed); err == nil {
		t.Error("Delete(mixed) succeeded")
	}
}

func TestNetlinkCanceledContext(t *testing.T) {
	n, err := NewNetlink(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := sampleElements()[0]
	for name, err := range map[string]error{
		"Setup": n.Setup(ctx), "Teardown": n.Teardown(ctx), "Add": n.Add(ctx, e), "Delete": n.Delete(ctx, e),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled) = %v, want context.Canceled", name, err)
		}
	}
	if _, err := n.Elements(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Elements(canceled) = %v, want context.Canceled", err)
	}
}

// TestNetlinkConcurrent runs many sessions' Add/Delete at once on one Netlink.
func TestNetlinkConcurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, _ := newTestNetlink(t, Config{})
	mustSetup(t, n)
	const workers, perWorker = 4, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				src := netip.AddrFrom4([4]byte{192, 0, 2, byte(w + 1)})
				if w%2 == 1 {
					src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(w + 1)})
				}
				dst := netip.MustParseAddr("203.0.113.2")
				if w%2 == 1 {
					dst = netip.MustParseAddr("2001:db8::2")
				}
				e := Element{Src: src, Dst: dst, Port: uint16(20000 + i)}
				if err := n.Add(ctx, e); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if err := n.Delete(ctx, e); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	got, err := n.Elements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := workers * (perWorker / 2); len(got) != want {
		t.Fatalf("%d elements left, want %d: %v", len(got), want, got)
	}
}
