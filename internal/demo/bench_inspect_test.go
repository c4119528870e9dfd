package main

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/testbed"

	policyconfig "github.com/ftpgate/ftpgate/policy/config"
)

func TestInspectConfigs(t *testing.T) {
	proxied := gatewayConfig("proxy") + "    transfer_hash: none\n"
	url := icapURL(netip.MustParseAddr("198.51.100.2"))
	if url != "icap://198.51.100.2:1344/avscan" {
		t.Errorf("icapURL = %s", url)
	}
	for _, tc := range []struct {
		name, cfg string
		want      []string
	}{
		{"observe", observeConfig(proxied), []string{
			"    inspect: {download: observe, upload: observe, hooks: [sum]}\nhooks:\n  sum:\n    exec: [sha256sum]\n"}},
		{"icap", icapConfig(proxied, url), []string{
			"    inspect: {download: inspect, upload: inspect, hooks: [av]}\nhooks:\n  av:\n",
			"    icap: \"icap://198.51.100.2:1344/avscan\"\n", "    timeout: 300s\n"}},
	} {
		if !strings.HasPrefix(tc.cfg, proxied) {
			t.Errorf("%s: does not start with the proxied configuration:\n%s", tc.name, tc.cfg)
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.cfg, w) {
				t.Errorf("%s: no %q in\n%s", tc.name, w, tc.cfg)
			}
		}
		// ftpgate's own parser takes it (the bench asks the binary too: ftpgate check).
		if _, err := policyconfig.Parse(tc.name+".yaml", []byte(tc.cfg), nil); err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, tc.cfg)
		}
	}
}

func TestCheckNA(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"ftpgate: configuration: /tmp/x/ftpgate-icap.yaml:7: hooks.av.icap: unknown key\n",
			"n/a (ftpgate check: hooks.av.icap: unknown key)"},
		{"something else\nmore", "n/a (ftpgate check: something else)"},
		{"", "n/a (ftpgate check: exit status 1)"},
	} {
		if got := checkNA(tc.out, errors.New("exit status 1")); got != tc.want {
			t.Errorf("checkNA(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}

func TestRecordVerdict(t *testing.T) {
	rec := func(cmd, arg string, verdicts ...any) map[string]any {
		return map[string]any{"command": cmd, "arg": arg, "verdicts": verdicts}
	}
	v := func(hook string, allow, failed bool) map[string]any {
		return map[string]any{"hook": hook, "allow": allow, "failed": failed}
	}
	recs := []map[string]any{
		rec("RETR", benchFile, v("av", false, true)), // an earlier transfer: the last one counts
		rec("RETR", benchFile, v("sum", true, false), v("av", true, false)),
		rec("STOR", uploadName, v("av", true, true)),
		rec("STOR", "other", v("av", true, false)),
	}
	if err := recordVerdict(recs, "RETR", benchFile, "av"); err != nil {
		t.Errorf("RETR: %v", err)
	}
	for _, tc := range []struct{ cmd, name, hook, want string }{
		{"STOR", uploadName, "av", "verdict"},     // failed open
		{"RETR", benchFile, "icap", "no verdict"}, // another hook
		{"LIST", "", "av", "no transfer record"},  // no record at all
		{"STOR", uploadName, "sum", "no verdict"}, // hook not consulted
	} {
		if err := recordVerdict(recs, tc.cmd, tc.name, tc.hook); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("recordVerdict(%s %s, %s) = %v, want %q", tc.cmd, tc.name, tc.hook, err, tc.want)
		}
	}
}

func TestRecordRefusal(t *testing.T) {
	rec := func(arg string, verdicts ...any) map[string]any {
		return map[string]any{"command": "RETR", "arg": arg, "verdicts": verdicts}
	}
	found := map[string]any{"hook": "av", "allow": false, "reason": "Eicar-Test-Signature-NDB.UNOFFICIAL FOUND"}
	recs := []map[string]any{rec("a", found), rec("b", map[string]any{"hook": "av", "allow": true}),
		rec("c", map[string]any{"hook": "av", "allow": false, "failed": true})}
	if err := recordRefusal(recs, "a", "av"); err != nil {
		t.Errorf("refused: %v", err)
	}
	for _, name := range []string{"b", "c", "d"} { // allowed, failed closed, no record
		if err := recordRefusal(recs, name, "av"); err == nil {
			t.Errorf("recordRefusal(%s) = nil", name)
		}
	}
}

func TestInspectRows(t *testing.T) {
	e := &benchEnv{c: config{measure: allMeasured()}}
	for _, id := range []rowID{rowObserve, rowICAP} {
		if n := len(e.stepsFor(id)); n != 1 {
			t.Errorf("%s: %d steps, want 1 (transfer)", rowSpecs[id].key, n)
		}
		if rowSpecs[id].base != rowProxy || rowSpecs[id].gateway {
			t.Errorf("%s: base %d gateway %v; want proxied, no RSS", rowSpecs[id].key, rowSpecs[id].base, rowSpecs[id].gateway)
		}
		if rowHook(id) == "" || hookTimeout(id) <= 0 {
			t.Errorf("%s: hook %q timeout %v", rowSpecs[id].key, rowHook(id), hookTimeout(id))
		}
	}
	if rowHook(rowProxy) != "" || hookTimeout(rowProxy) != 0 {
		t.Error("proxied row with a hook")
	}
	if e.c.measure[measTransfer] = false; len(e.stepsFor(rowICAP)) != 0 {
		t.Error("icap row set up without the transfer measurement")
	}
	res := newResults()
	e.observeNA, e.icapNA = "n/a (a)", ""
	e.markInspectNA(res)
	if res[rowObserve].na != "n/a (a)" || res[rowICAP].na != "" {
		t.Errorf("markInspectNA: %q, %q", res[rowObserve].na, res[rowICAP].na)
	}
	tb := buildTable(res, nil, allMeasured())
	if got := tb.rows[rowObserve]; len(got) != 2 || got[1] != "n/a (a)" {
		t.Errorf("observe row %q, want a note row", got)
	}
}

// TestCheckConfigs runs the rows' `ftpgate check` against a stand-in for ftpgate that
// refuses the packet filter row's configuration: that row gets the refusal as its n/a cell,
// the inspection rows none; a gateway without the kernel path makes the packet filter row
// n/a without asking.
func TestCheckConfigs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ftpgate")
	script := "#!/bin/sh\ncase \"$3\" in *queued*) echo \"ftpgate: configuration: $3:7: policies.p.packet_filter: unknown key\" >&2; exit 2;; esac\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	e := &benchEnv{b: &bed{tp: &testbed.Topology{Dir: dir}}, c: config{bin: bin}, p: newPrinter(&out), hasDataPath: true}
	if err := e.writeInspectConfigs(t.Context(), gatewayConfig("proxy")); err != nil {
		t.Fatal(err)
	}
	if err := e.writeQueuedConfig(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.observeNA != "" || e.icapNA != "" {
		t.Errorf("inspection rows n/a: %q, %q", e.observeNA, e.icapNA)
	}
	if want := "n/a (ftpgate check: policies.p.packet_filter: unknown key)"; e.queuedNA != [2]string{want, want} {
		t.Errorf("packet filter row: %q, want %q\n%s", e.queuedNA, want, out.String())
	}
	for _, f := range []string{e.observeConfig, e.icapConfig, e.queuedConfig[0], e.queuedConfig[1]} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("configuration not written: %v", err)
		}
	}
	e.hasDataPath = false
	if err := e.writeQueuedConfig(t.Context()); err != nil || e.queuedNA != [2]string{kernelNA, kernelNA} {
		t.Errorf("without the kernel path: %q, %v; want %q", e.queuedNA, err, kernelNA)
	}
}

func TestStampFiles(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	e := &benchEnv{b: &bed{srv: &testbed.FTPServer{Root: root}, tp: &testbed.Topology{Dir: dir}}}
	down, up := filepath.Join(root, benchFile), filepath.Join(dir, benchUpload)
	for _, p := range []string{down, up} {
		if _, err := testbed.MakeFile(p, 4096); err != nil {
			t.Fatal(err)
		}
	}
	sums := map[string]bool{}
	for range 2 {
		if err := e.stampFiles(); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{down, up} {
			st, err := os.Stat(p)
			if err != nil || st.Size() != 4096 {
				t.Fatalf("%s after the stamp: %v, %v; want 4096 bytes", p, st, err)
			}
			sum, err := testbed.SHA256File(p)
			if err != nil {
				t.Fatal(err)
			}
			sums[sum] = true
		}
	}
	if len(sums) != 4 {
		t.Errorf("%d distinct contents in 2 runs of 2 files, want 4", len(sums))
	}
	if err := (&benchEnv{b: &bed{srv: &testbed.FTPServer{Root: t.TempDir()}, tp: &testbed.Topology{Dir: dir}}}).stampFiles(); err == nil {
		t.Error("stampFiles made a missing file")
	}
}
