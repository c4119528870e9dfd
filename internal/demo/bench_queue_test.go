package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/policy"

	policyconfig "github.com/ftpgate/ftpgate/policy/config"
)

func TestQueuedConfig(t *testing.T) {
	for _, hashed := range []bool{false, true} {
		cfg := queuedConfig(hashed)
		if !strings.HasPrefix(cfg, gatewayConfig("kernel")) {
			t.Errorf("does not start with the kernel row's configuration:\n%s", cfg)
		}
		want := "    packet_filter:\n      patterns: [\"" + queuePattern + "\"]\n      queue_bypass: false\n"
		if !strings.HasSuffix(cfg, want) {
			t.Errorf("no %q at the end of\n%s", want, cfg)
		}
		// ftpgate's own parser takes it (the bench asks the binary too: ftpgate check).
		c, err := policyconfig.Parse("queued.yaml", []byte(cfg), nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, cfg)
		}
		p := c.Policies["p"]
		if p == nil {
			t.Fatalf("no policy p in %+v", c.Policies)
		}
		s := p.Packets
		if !s.Enabled || s.Bypass || len(s.Patterns) != 1 || string(s.Patterns[0].Bytes) != queuePattern ||
			s.MaxSize != 0 || s.MaxRate != 0 || s.Callback != nil || p.Data.Path != policy.PathKernel {
			t.Errorf("policy: data_path %v, packet filter %+v", p.Data.Path, s)
		}
		if got := p.Data.Hash != policy.HashNone; got != hashed {
			t.Errorf("hashed %v: transfer_hash %v", hashed, p.Data.Hash)
		}
	}
	if n := len(queuePattern); n < 32 || n > pktfilter.MaxPatternLen {
		t.Errorf("pattern of %d bytes: too short to be absent from random bytes, or too long", n)
	}
}

// TestQueuePatternAbsent: the pattern is in none of the bench's files. They are all the
// same ChaCha8 stream from a fixed seed (a 1 GiB file begins with any shorter one), so a
// sample of its start stands for the kind of bytes; the ICAP row's stamps do not have it.
func TestQueuePatternAbsent(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	b := &bed{srv: &testbed.FTPServer{Root: root, UID: os.Getuid()}, tp: &testbed.Topology{Dir: dir}}
	if err := makeBenchFiles(b, 8<<20); err != nil {
		t.Fatal(err)
	}
	e := &benchEnv{b: b}
	for range 2 {
		for _, p := range []string{filepath.Join(root, benchFile), filepath.Join(dir, benchUpload)} {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// Its first 8 bytes would do already; the whole pattern is far less likely.
			if bytes.Contains(data, []byte(queuePattern[:8])) {
				t.Errorf("%s contains the packet filter row's pattern", p)
			}
		}
		if err := e.stampFiles(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueuedRow(t *testing.T) {
	spec := rowSpecs[rowQueued]
	if spec.key != "queued" || spec.base != rowKernel || !spec.transferOnly || spec.gateway || spec.tls {
		t.Errorf("spec %+v: want key queued, base kernel, transfers only, no RSS", spec)
	}
	e := &benchEnv{c: config{measure: allMeasured()}}
	if n := len(e.stepsFor(rowQueued)); n != 1 {
		t.Errorf("%d steps, want 1 (transfer)", n)
	}
	e.queuedConfig = [2]string{"q.yaml", "qh.yaml"}
	if e.gatewayArgs(rowQueued)[1] != "q.yaml" || e.gatewayArgs(rowQueuedHashed)[1] != "qh.yaml" ||
		!strings.Contains(strings.Join(rowKeys(), ","), "kernel,queued,queued-sha256,relay") {
		t.Errorf("arguments %q, keys %q", e.gatewayArgs(rowQueued), rowKeys())
	}
	found := 0
	for _, id := range plainRows {
		if isQueued(id) {
			found++
		}
	}
	if found != 2 {
		t.Errorf("%d packet filter rows in the plain sitting, want 2", found)
	}
	if h := rowSpecs[rowQueuedHashed]; h.key != "queued-sha256" || h.base != rowKernel || !h.transferOnly || h.gateway {
		t.Errorf("spec %+v: want key queued-sha256, base kernel, transfers only, no RSS", h)
	}
	// Its ratios are to the kernel row, run by run: 900/1800, 1200/2000; 450/900, 300/1000.
	mb := float64(1 << 20)
	res := newResults()
	for id := range res {
		res[id].skip = id != int(rowForward) && id != int(rowKernel) && id != int(rowQueued)
	}
	res[rowForward].retr, res[rowForward].stor = []float64{1000 * mb, 1000 * mb}, []float64{1000 * mb, 1000 * mb}
	res[rowKernel].retr, res[rowKernel].stor = []float64{1800 * mb, 2000 * mb}, []float64{900 * mb, 1000 * mb}
	res[rowQueued].retr, res[rowQueued].stor = []float64{900 * mb, 1200 * mb}, []float64{450 * mb, 300 * mb}
	res[rowQueued].cpu = []float64{2, 3}
	var m measureSet
	m[measTransfer] = true
	tb := buildTable(res, nil, m)
	if len(tb.rows) != 3 {
		t.Fatalf("%d rows, want forwarding, kernel, packet filter", len(tb.rows))
	}
	want := []string{"ftpgate kernel path + packet filter (NFQUEUE)", "1050", "0.55", "375", "0.40", dash, dash, dash, dash, dash, dash, dash, "2.50"}
	if got := tb.rows[2]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("row %q, want %q", got, want)
	}
	if got := tb.rows[1][2]; got != "1.90" {
		t.Errorf("kernel row's RETR × %s, want 1.90 (against forwarding)", got)
	}
	g := chartGroups(res)
	if len(g) != 2 || g[1].label != "NFQUEUE" || math.Abs(g[1].retr-0.55) > 1e-9 || math.Abs(g[1].stor-0.4) > 1e-9 {
		t.Errorf("chart groups %+v, want KERNEL and NFQUEUE at 0.55/0.4 of the kernel row", g)
	}
	// Without the kernel row (-rows queued) there is nothing to compare with: the ratios
	// are dashes.
	res[rowKernel] = &rowResult{spec: rowSpecs[rowKernel], skip: true}
	if got := buildTable(res, nil, m).rows[1]; got[2] != dash || got[4] != dash || got[1] != "1050" {
		t.Errorf("row without its base %q", got)
	}
}

func TestPacketFilterNA(t *testing.T) {
	line := func(msg string, attrs ...string) string {
		s := fmt.Sprintf(`{"time":"2026-11-26T10:00:00Z","level":"WARN","msg":%q`, msg)
		for i := 0; i+1 < len(attrs); i += 2 {
			s += fmt.Sprintf(",%q:%q", attrs[i], attrs[i+1])
		}
		return s + "}"
	}
	start := `scenario: gateway exited at start: exit status 2` + "\n" + line("configuration loaded")
	for _, tc := range []struct{ log, want string }{
		{start + "\n" + line("packet filter off: the nftables table has no queue chain (the kernel has neither nft's queue statement nor the xtables NFQUEUE target, or the operator's rule set has no chain pktqueue)") + "\n",
			"n/a (packet filter off: the nftables table has no queue chain)"},
		{start + "\n" + line("packet filter off: cannot read its queues", "err", "pktfilter: open queue 2122: operation not permitted"),
			"n/a (packet filter off: cannot read its queues: pktfilter: open queue 2122: operation not permitted)"},
		{line("packet filter off (-queue 0)"), "n/a (packet filter off (-queue 0))"},
		{line("packet filter off: no kernel data path"), "n/a (packet filter off: no kernel data path)"},
		{start + "\n" + line("packet filter on", "statement", "xt NFQUEUE"), ""},
		{"not json: packet filter off", ""},
	} {
		if got := packetFilterNA(tc.log); got != tc.want {
			t.Errorf("packetFilterNA(%.60q…) = %q, want %q", tc.log, got, tc.want)
		}
	}
}

func TestRowUnavailable(t *testing.T) {
	off := errors.New("start ftpgate: scenario: gateway exited at start: exit status 2\n" +
		`{"msg":"packet filter off: no kernel data path"}` + "\n" +
		`{"msg":"ftpgate: policies p have packet_filter:, but this gateway has no packet filter queue"}`)
	dataPath := errors.New("start ftpgate: policies.p.data_path: unknown key")
	other := errors.New("start ftpgate: address in use")
	for _, tc := range []struct {
		id   rowID
		err  error
		want string
	}{
		{rowQueued, off, "n/a (packet filter off: no kernel data path)"},
		{rowQueued, dataPath, kernelNA},
		{rowKernel, dataPath, kernelNA},
		{rowKernel, off, ""}, // the kernel row has no packet filter: a real failure
		{rowProxy, dataPath, ""},
		{rowQueued, other, ""},
	} {
		err := rowUnavailable(tc.id, tc.err)
		if got := naCell(err); got != tc.want || (tc.want == "") != (err == nil) {
			t.Errorf("rowUnavailable(%s, %q) = %v (cell %q), want %q", rowSpecs[tc.id].key, tc.err, err, got, tc.want)
			continue
		}
		if err != nil && (!errors.Is(err, errRowNA) || !errors.Is(err, tc.err) || !strings.HasPrefix(err.Error(), tc.want+": ")) {
			t.Errorf("rowUnavailable(%s): %v is not errRowNA wrapping %v", rowSpecs[tc.id].key, err, tc.err)
		}
	}
	if naCell(fmt.Errorf("run: %w", errRowNA)) != kernelNA || naCell(other) != "" || naCell(nil) != "" {
		t.Error("naCell")
	}
}

// filterRec is a transfer record as a kernel path transfer under the filter logs it.
func filterRec(command, name string, pf map[string]any) map[string]any {
	return map[string]any{"command": command, "arg": name, "path": "kernel", "reply": float64(226), "packet_filter": pf}
}

func TestFilterAccount(t *testing.T) {
	const size = 1 << 20
	good := map[string]any{"packets": float64(40), "bytes": float64(size + 1448), "accepted": float64(39),
		"dropped": float64(1), "out_of_order": float64(1), "max_hold_ms": 0.25}
	if pf, err := filterAccount(filterRec("RETR", benchFile, good), size); err != nil || num(pf, "packets") != 40 {
		t.Errorf("good record: %v, %v", pf, err)
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		m[k] = v
		return m
	}
	proxied := filterRec("RETR", benchFile, good)
	proxied["path"] = "proxy"
	unqueued := filterRec("RETR", benchFile, nil)
	delete(unqueued, "packet_filter")
	for _, tc := range []struct {
		rec  map[string]any
		want string
	}{
		{nil, "none"},
		{proxied, "path proxy"},
		{unqueued, "not queued"},
		{filterRec("RETR", benchFile, with("stopped", `pattern "X" at byte 7`)), "stopped it"},
		{filterRec("RETR", benchFile, with("unjudged_bytes", float64(65536))), "unjudged"},
		{filterRec("RETR", benchFile, with("bytes", float64(size-1))), "judged 1048575 bytes"},
	} {
		if _, err := filterAccount(tc.rec, size); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("filterAccount(%v) = %v, want %q", tc.rec, err, tc.want)
		}
	}
}

// logGateway is a gateway whose log holds recs (as ftpgate logs transfer records), for the
// functions that only read the log.
func logGateway(t *testing.T, recs ...map[string]any) *scenario.Gateway {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		r["msg"] = "transfer"
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n", j)
	}
	path := filepath.Join(t.TempDir(), "ftpgate.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return &scenario.Gateway{Proc: &testbed.Proc{Log: path}}
}

func TestCheckFilteredAndNote(t *testing.T) {
	const size = 1 << 20
	pf := func(pkts, bytes float64) map[string]any {
		return map[string]any{"packets": pkts, "bytes": bytes, "accepted": pkts, "dropped": float64(0), "max_hold_ms": 1.5}
	}
	g := logGateway(t,
		filterRec("RETR", benchFile, pf(1, 10)), // an earlier run's: the last record counts
		filterRec("RETR", benchFile, pf(64, size)),
		filterRec("STOR", uploadName, pf(256, size)))
	if err := checkFiltered(g, rowQueued, size); err != nil {
		t.Errorf("checkFiltered: %v", err)
	}
	note := filterNote(g, rowQueued, size)
	for _, w := range []string{"RETR 64 pkts of 16.0 KiB, 0 reordered, 0 dropped (0 out of order), hold ≤1.5 ms", "STOR 256 pkts of 4.0 KiB"} {
		if !strings.Contains(note, w) {
			t.Errorf("note %q: no %q", note, w)
		}
	}
	bad := logGateway(t, filterRec("RETR", benchFile, pf(64, size)))
	if err := checkFiltered(bad, rowQueued, size); err == nil || !strings.Contains(err.Error(), "STOR "+uploadName+": none") {
		t.Errorf("checkFiltered without a STOR record: %v", err)
	}
	// Other rows are not checked, and their progress line has no filter part.
	if checkFiltered(bad, rowKernel, size) != nil || filterNote(g, rowKernel, size) != "" {
		t.Error("the kernel row checked for a packet filter")
	}
}

func TestParseStatCPU(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
	stat := "4242 (ftp gate) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 125 0 0 20 0 9 0"
	if ticks, err := parseStatCPU(stat); err != nil || ticks != 375 {
		t.Errorf("parseStatCPU = %d, %v; want 375", ticks, err)
	}
	for _, bad := range []string{"4242 S 17", "4242 (x) S 17 1 1", "4242 (x) S 17 4242 4242 0 -1 0 0 0 0 0 u s"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) accepted", bad)
		}
	}
	if _, ok := gatewayCPU(nil); ok {
		t.Error("gatewayCPU without a gateway")
	}
}
