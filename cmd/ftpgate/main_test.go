package main

import (
	"context"
	"strings"
	"testing"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e strings.Builder
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestRulesFollowFlags(t *testing.T) {
	code, out, _ := runCmd("rules", "-control-ports", "21,2021", "-control-listen", "3121", "-data-listen", "3120",
		"-mark", "7", "-route-table", "42", "-table", "gw", "-expect-timeout", "45s")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"table inet gw {", "timeout 45s", "tcp dport { 21, 2021 } tproxy to :3121 meta mark set 0x7 accept",
		"@data4 tproxy ip to :3120 meta mark set 0x7 accept", "@data6 tproxy ip6 to :3120",
		"ip -4 rule add fwmark 0x7 lookup 42", "ip -6 route add local default dev lo table 42",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"rules", "-control-ports", "21,x"},
		{"rules", "-control-listen", "2120"},
		{"rules", "-mark", "0"},
		{"rules", "-mark-mask", "0"},
		{"rules", "-mark", "0x100", "-mark-mask", "0xff"},
		{"rules", "-route-table", "254"},
		{"rules", "-expect-timeout", "10ms"},
		{"rules", "-max-line", "100"},
		{"rules", "extra"},
		{"run", "-log-format", "xml"},
	} {
		code, _, stderr := runCmd(args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if stderr == "" {
			t.Errorf("%v: no error message", args)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd("version")
	if code != exitOK || !strings.HasPrefix(out, "ftpgate ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
