package main

import (
	"context"
	"flag"
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

// TestManAndCompletion checks that the manual page and the completion carry every flag of
// every command, as the flag sets define them.
func TestManAndCompletion(t *testing.T) {
	code, man, _ := runCmd("man")
	if code != exitOK || !strings.HasPrefix(man, ".TH FTPGATE 8") {
		t.Fatalf("man: %d %.80q", code, man)
	}
	code, bash, _ := runCmd("completion", "bash")
	if code != exitOK || !strings.Contains(bash, "complete -F _ftpgate ftpgate") {
		t.Fatalf("completion bash: %d %.80q", code, bash)
	}
	for _, c := range program().Commands {
		if !strings.Contains(man, `.SS "ftpgate `+c.Name+`"`) {
			t.Errorf("man page lacks command %q", c.Name)
		}
		if c.Flags == nil {
			continue
		}
		c.Flags.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(man, `\fB\-`+strings.ReplaceAll(f.Name, "-", `\-`)+`\fR`) {
				t.Errorf("man page lacks %s -%s", c.Name, f.Name)
			}
			if !strings.Contains(bash, " -"+f.Name+" ") && !strings.Contains(bash, "'-"+f.Name+" ") && !strings.Contains(bash, " -"+f.Name+"'") {
				t.Errorf("completion lacks %s -%s", c.Name, f.Name)
			}
		})
	}
	for _, args := range [][]string{{"man", "x"}, {"completion"}, {"completion", "zsh"}} {
		if code, _, _ := runCmd(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
