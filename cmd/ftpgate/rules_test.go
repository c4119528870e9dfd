package main

import (
	"os"
	"strings"
	"testing"
)

// TestDeployRuleSet: deploy/ftpgate.nft, the file operators include, is exactly what
// `ftpgate rules` prints with the default flags, so the two never drift.
func TestDeployRuleSet(t *testing.T) {
	want, err := os.ReadFile("../../deploy/ftpgate.nft")
	if err != nil {
		t.Fatal(err)
	}
	code, got, stderr := runCmd("rules")
	if code != exitOK {
		t.Fatalf("rules: exit %d: %s", code, stderr)
	}
	if got != string(want) {
		t.Errorf("deploy/ftpgate.nft differs from `ftpgate rules`; regenerate it: go generate ./cmd/ftpgate\n--- rules:\n%s", got)
	}
}

// TestRulesMarkMask: with -mark-mask the rules keep the other bits of the mark, and the policy
// rule and the input chain advice match the mark under the mask.
func TestRulesMarkMask(t *testing.T) {
	code, out, stderr := runCmd("rules", "-mark", "0x100", "-mark-mask", "0xff00", "-route-table", "77")
	if code != exitOK {
		t.Fatalf("rules: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"tcp dport 21 tproxy to :2121 meta mark set meta mark & 0xffff00ff | 0x00000100 accept",
		"socket transparent 1 meta mark set meta mark & 0xffff00ff | 0x00000100 accept",
		"ip -4 rule add fwmark 0x100/0xff00 lookup 77", "ip -6 route add local default dev lo table 77",
		"meta mark & 0xff00 == 0x100 accept", "table inet ftpgate\ndelete table inet ftpgate\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules output lacks %q:\n%s", want, out)
		}
	}
}
