package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// TestHostileInput: a raw-socket client sends what a hostile peer sends (bounce targets,
// malformed and overflowing addresses, broken framing, Telnet IAC split across segments,
// a slow drip, commands out of state, a flood of pipelined commands). Every attacked session
// gets its reply or a close, never a stall; the gateway keeps running, and a normal transfer
// works right after.
func TestHostileInput(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small})
	script, err := filepath.Abs("testdata/hostile.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx := b.ctx(t)
	out, stderr, err := b.tp.Exec(ctx, b.tp.Client, "python3", script, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass)
	if err != nil {
		t.Fatalf("hostile.py: %v\n%s%s", err, out, stderr)
	}
	want := map[string]string{ // step -> the reply it must get (a prefix), "" for any reply
		"port-bounce": "501", "port-overflow": "501", "port-fields": "501", "port-huge": "501",
		"eprt-bounce": "501", "eprt-garbage": "501", "eprt-proto": "522", "epsv-proto": "522",
		"overlong": "500", "nul": "500", "bare-cr": "500", "bare-lf": "200", "iac-split": "200",
		"slow": "200", "before-login": "530", "rnto-alone": "503", "rest-negative": "501",
		"type-e": "504", "mode-z": "504", "stru-r": "504", "empty": "500", "unknown": "500",
		"flood": "",
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m struct {
			Step   string `json:"step"`
			Result any    `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("hostile.py output %q: %v", line, err)
		}
		seen[m.Step] = true
		replies, ok := m.Result.([]any)
		if !ok || len(replies) == 0 {
			t.Errorf("%s: %v", m.Step, m.Result)
			continue
		}
		last := fmt.Sprint(replies[len(replies)-1])
		if last == "timeout" {
			t.Errorf("%s: the session stalled (no reply, no close within 10 s): %v", m.Step, replies[:len(replies)-1])
			continue
		}
		if p := want[m.Step]; p != "" && !strings.HasPrefix(fmt.Sprint(replies[0]), p) {
			t.Errorf("%s: reply %v, want %s", m.Step, replies[0], p)
		}
		if m.Step == "flood" {
			ok := 0
			for _, r := range replies {
				if strings.HasPrefix(fmt.Sprint(r), "200") {
					ok++
				}
			}
			if ok != 5000 || !strings.HasPrefix(last, "221") {
				t.Errorf("flood: %d of 5000 pipelined NOOPs answered 200, last reply %q (want 221 to QUIT)", ok, last)
			}
		}
	}
	for step := range want {
		if !seen[step] {
			t.Errorf("step %s did not run", step)
		}
	}
	dst := filepath.Join(b.tp.Dir, "after-hostile.bin")
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("transfer after the attacks: %v\n%s", err, tail(tr, 20))
	}
	if sha(t, dst) != b.sums["small.bin"] {
		t.Fatal("checksum differs")
	}
	if els, _ := scenario.Elements(ctx, b.tp, table); len(els) != 0 {
		t.Errorf("elements left after the attacks: %v", els)
	}
}
