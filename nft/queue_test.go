package nft

import (
	"strings"
	"testing"
)

func TestQueueRulesText(t *testing.T) {
	got := RenderQueueChain(Config{Queue: 2122})
	for _, want := range []string{
		"chain pktqueue {\n\t\ttype filter hook forward priority -4; policy accept;\n",
		"ct mark & 0xff500000 == 0x46100000 ct direction original queue num 2123\n",
		"ct mark & 0xff600000 == 0x46200000 ct direction reply queue num 2123\n",
		"ct mark & 0xff500000 == 0x46500000 ct direction original queue num 2122 bypass\n",
		"ct mark & 0xff600000 == 0x46600000 ct direction reply queue num 2122 bypass\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("queue chain lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(Render(Config{}), "chain pktqueue") {
		t.Errorf("a table without Queue has a queue chain:\n%s", Render(Config{}))
	}
	if !strings.Contains(Render(Config{Queue: 7}), "queue num 7 bypass") {
		t.Errorf("Render with Queue 7 lacks its queue chain:\n%s", Render(Config{Queue: 7}))
	}
	if err := (Config{Queue: 0xffff}).Validate(); err == nil {
		t.Error("Queue 65535 validated; it needs Queue+1 too")
	}
}

// TestQueueMarks checks that each rule takes exactly the marks meant for it: the queue flags
// of a connection select one rule per direction at most, and plain kernel path marks none.
func TestQueueMarks(t *testing.T) {
	rules := queueRules(100)
	for _, c := range []struct {
		mark uint32
		dir  byte
		want int // queue number, or -1
	}{
		{KernelMark | 5, 0, -1},
		{KernelMark | QueueOriginal | 5, 0, 101},
		{KernelMark | QueueOriginal | 5, 1, -1},
		{KernelMark | QueueReply | QueueOriginal, 1, 101},
		{KernelMark | QueueReply | QueueBypass | 0xfffff, 1, 100},
		{KernelMark | QueueOriginal | QueueBypass, 0, 100},
		{CutMark | QueueOriginal | QueueBypass, 0, -1},
	} {
		got := -1
		for _, r := range rules {
			if c.mark&r.mask == r.want && c.dir == r.dir {
				if got != -1 {
					t.Errorf("mark %#x dir %d: two rules match", c.mark, c.dir)
				}
				got = int(r.num)
			}
		}
		if got != c.want {
			t.Errorf("mark %#x dir %d: queue %d, want %d", c.mark, c.dir, got, c.want)
		}
	}
}

// TestNetlinkQueueChain builds the table with a queue chain in a namespace: with the nft queue
// statement where the kernel has it, else with the xtables target, and nft lists the same
// four rules either way.
func TestNetlinkQueueChain(t *testing.T) {
	n, ns := newTestNetlink(t, Config{Queue: 2122})
	mustSetup(t, n)
	stmt := n.QueueStmt()
	if stmt != QueueNative && stmt != QueueXT {
		t.Fatalf("QueueStmt = %q, want %q or %q", stmt, QueueNative, QueueXT)
	}
	t.Logf("queue statement: %s", stmt)
	out := ns.nft(t, "list", "chain", "inet", DefaultTable, ChainQueue)
	for _, want := range []string{"queue num 2123", "queue num 2122 bypass", "ct direction original", "ct direction reply"} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list chain queue lacks %q:\n%s", want, out)
		}
	}
	if err := n.Check(t.Context()); err != nil {
		t.Errorf("Check after Setup: %v", err)
	}
	ns.nft(t, "flush", "chain", "inet", DefaultTable, ChainQueue)
	if err := n.Check(t.Context()); err == nil {
		t.Error("Check after the queue chain was flushed: nil error")
	}
	mustSetup(t, n)
	if n.QueueStmt() != stmt {
		t.Errorf("rebuilt with %q, first %q", n.QueueStmt(), stmt)
	}
}

// TestProbeQueue: the probe names a statement this kernel takes and leaves no table.
func TestProbeQueue(t *testing.T) {
	ns := newTestNS(t)
	stmt, err := ProbeQueue(t.Context(), WithNetNS(ns.fd))
	if err != nil {
		t.Fatal(err)
	}
	if stmt != QueueNative && stmt != QueueXT {
		t.Errorf("ProbeQueue = %q; this kernel has the xtables NFQUEUE target at least", stmt)
	}
	if out := ns.nft(t, "list", "tables"); strings.Contains(out, "qprobe") {
		t.Errorf("the probe left a table:\n%s", out)
	}
}
