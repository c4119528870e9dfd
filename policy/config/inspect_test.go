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
		{"mode without hooks", pol("      download: observe\n"), "policies.p.inspect.hooks: download is observe, upload none, but no whole-object hook (exec:, icap: or starlark:) is named"},
		{"chunk without chunk hook", pol("      upload: chunk\n      hooks: [av]\n"), "policies.p.inspect.hooks: download is none, upload chunk, but no chunk hook (one defined with chunk:) is named"},
		{"bad mode", pol("      download: scan\n      hooks: [av]\n"), `policies.p.inspect.download: unknown value "scan" (none, chunk, observe, inspect)`},
		{"bad size", pol("      download: inspect\n      hooks: [av]\n      max_size: 2GB\n"), `policies.p.inspect.max_size: invalid size "2GB"`},
		{"small spool", pol("      download: inspect\n      hooks: [av]\n      spool_memory: 1KiB\n"), "policies.p.inspect.spool_memory: must be between 64KiB and 1GiB"},
		{"unknown key", pol("      donwload: inspect\n"), "policies.p.inspect.donwload: unknown key"},
		{"hook without kind", minimal + "hooks:\n  av: {timeout: 3s}\n", "hooks.av: needs exactly one of exec, icap, starlark, chunk (has 0)"},
		{"hook with two kinds", minimal + "hooks:\n  av: {exec: [x], icap: icap://h/s}\n", "hooks.av: needs exactly one of exec, icap, starlark, chunk (has 2)"},
		{"icap bad url", minimal + "hooks:\n  av: {icap: http://h/s}\n", "hooks.av.icap: "},
		{"starlark without script", "version: 1\nhooks:\n  r: {starlark: no_exe}\n", `hooks.r.starlark: callback "no_exe" needs a script`},
		{"starlark unknown function", minimal + "script: policy.star\nhooks:\n  r: {starlark: nope}\n", `hooks.r.starlark: function "nope" is not defined`},
		{"chunk timeout", minimal + "script: policy.star\nhooks:\n  r: {chunk: mask, timeout: 3s}\n", "hooks.r.timeout: a chunk hook has no timeout"},
		{"chunk hook in inspect mode", "version: 1\nscript: policy.star\nservices:\n  - {name: a, policy: p}\nhooks:\n  m: {chunk: mask}\n  av: {exec: [x]}\npolicies:\n  p:\n    inspect:\n      download: inspect\n      hooks: [av, m]\n",
			`policies.p.inspect.hooks: download is inspect, upload none: chunk hook "m" needs a direction in chunk mode`},
		{"hook bad timeout", minimal + "hooks:\n  av: {exec: [x], timeout: soon}\n", `hooks.av.timeout: invalid duration "soon"`},
		{"hook empty command", minimal + "hooks:\n  av: {exec: []}\n", "hooks.av.exec: must name a command"},
	} {
		if _, err := parseTest(t, tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestInspectConfigKinds: ICAP, Starlark and chunk hooks; a policy's hooks are split into
// whole-object hooks and chunk hooks, each for the directions of its kind.
func TestInspectConfigKinds(t *testing.T) {
	cfg := mustParse(t, "version: 1\nscript: policy.star\nservices:\n  - {name: a, policy: p}\n"+
		"hooks:\n  av: {icap: 'icap://127.0.0.1/avscan?allow204=on', timeout: 20s}\n  rules: {starlark: no_exe}\n  m: {chunk: mask}\n"+
		"policies:\n  p:\n    inspect:\n      download: chunk\n      upload: inspect\n      hooks: [rules, m, av]\n")
	s := cfg.Policies["p"].Inspect
	if len(s.Hooks) != 2 || len(s.ChunkHooks) != 1 || s.Hooks[0].Name() != "rules" || s.Hooks[1].Name() != "av" || s.ChunkHooks[0].Name() != "m" {
		t.Fatalf("hooks %v, chunk hooks %v", s.Hooks, s.ChunkHooks)
	}
	av, ok := s.Hooks[1].(*inspect.ICAP)
	if !ok || av.HookTimeout() != 20*time.Second {
		t.Fatalf("av: %T %+v", s.Hooks[1], s.Hooks[1])
	}
	var out strings.Builder
	cfg.Describe(&out)
	if !strings.Contains(out.String(), "inspect: download chunk, upload inspect, hooks rules,av,m") {
		t.Errorf("describe:\n%s", out.String())
	}
}

// TestConfigCloseHooks: Close lets an ICAP hook's idle connections go, once per hook even
// when several policies name it.
func TestConfigCloseHooks(t *testing.T) {
	cfg := mustParse(t, "version: 1\nservices:\n  - {name: a, policy: p}\nhooks:\n  av: {icap: 'icap://127.0.0.1/avscan'}\n"+
		"policies:\n  p:\n    inspect: {download: inspect, hooks: [av]}\n  q:\n    inspect: {upload: inspect, hooks: [av]}\n")
	if cfg.Policies["p"].Inspect.Hooks[0] != cfg.Policies["q"].Inspect.Hooks[0] {
		t.Fatal("two policies naming one hook got two hooks")
	}
	if err := cfg.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
