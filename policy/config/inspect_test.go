package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
)

const inspectHooks = "hooks:\n  av:\n    exec: [clamdscan, --fdpass, --no-summary, -]\n    timeout: 30s\n  tap: {exec: [tee, /dev/null]}\n"

// TestInspectConfig: hooks are defined once and named by policies; the settings arrive
// typed, with their defaults, and ftpgate check describes them.
func TestInspectConfig(t *testing.T) {
	cfg := mustParse(t, "version: 1\nservices:\n  - {name: a, policy: p}\n"+inspectHooks+
		"policies:\n  p:\n    base: readwrite\n    inspect:\n      download: inspect\n      upload: observe\n      hooks: [av, tap]\n      fail: open\n      spool_memory: 8MiB\n      max_size: 2GiB\n")
	s := cfg.Policies["p"].Inspect.WithDefaults()
	if s.Download != inspect.ModeInspect || s.Upload != inspect.ModeObserve || s.Fail != inspect.FailOpen ||
		s.Rest != inspect.RestRefuse || s.SpoolMemory != 8<<20 || s.MaxSize != 2<<30 || len(s.Hooks) != 2 {
		t.Fatalf("settings %+v", s)
	}
	av, ok := s.Hooks[0].(*inspect.Exec)
	if !ok || av.Name() != "av" || av.Timeout != 30*time.Second || strings.Join(av.Command, " ") != "clamdscan --fdpass --no-summary -" {
		t.Fatalf("hook av %+v", s.Hooks[0])
	}
	if d := (inspect.Settings{}).WithDefaults(); d.MaxSize != 4<<30 || d.SpoolMemory != 4<<20 {
		t.Errorf("defaults: max_size %d, spool_memory %d; want 4GiB, 4MiB", d.MaxSize, d.SpoolMemory)
	}
	if tap := s.Hooks[1].(*inspect.Exec); tap.Timeout != inspect.DefaultHookTimeout {
		t.Errorf("tap's timeout %s, want the default", tap.Timeout)
	}
	var out strings.Builder
	cfg.Describe(&out)
	if !strings.Contains(out.String(), "inspect: download inspect, upload observe, hooks av,tap, fail open") {
		t.Errorf("describe:\n%s", out.String())
	}
	if plain := mustParse(t, minimal); plain.Policies["readonly"].Inspect.Active() {
		t.Error("a policy without inspect: inspects")
	}
}

func TestInspectConfigErrors(t *testing.T) {
	pol := func(lines string) string {
		return minimal + inspectHooks + "policies:\n  p:\n    inspect:\n" + lines
	}
	for _, tc := range []struct{ name, src, want string }{
		{"unknown hook", pol("      download: inspect\n      hooks: [av, clam]\n"), `policies.p.inspect.hooks[1]: no hook named "clam" under hooks:`},
		{"mode without hooks", pol("      download: observe\n"), "policies.p.inspect.hooks: download or upload is observe/none but no hook is named"},
		{"bad upload mode", pol("      upload: chunk\n      hooks: [av]\n"), `policies.p.inspect.upload: unknown value "chunk" (none, observe, inspect)`},
		{"bad mode", pol("      download: scan\n      hooks: [av]\n"), `policies.p.inspect.download: unknown value "scan" (none, observe, inspect)`},
		{"bad size", pol("      download: inspect\n      hooks: [av]\n      max_size: 2GB\n"), `policies.p.inspect.max_size: invalid size "2GB"`},
		{"small spool", pol("      download: inspect\n      hooks: [av]\n      spool_memory: 1KiB\n"), "policies.p.inspect.spool_memory: must be between 64KiB and 1GiB"},
		{"unknown key", pol("      donwload: inspect\n"), "policies.p.inspect.donwload: unknown key"},
		{"hook without exec", minimal + "hooks:\n  av: {timeout: 3s}\n", "hooks.av.exec: required"},
		{"hook bad timeout", minimal + "hooks:\n  av: {exec: [x], timeout: soon}\n", `hooks.av.timeout: invalid duration "soon"`},
		{"hook empty command", minimal + "hooks:\n  av: {exec: []}\n", "hooks.av.exec: must name a command"},
	} {
		if _, err := parseTest(t, tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
