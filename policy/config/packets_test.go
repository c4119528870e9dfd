package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/pktfilter"
)

// TestPacketFilterConfig: a policy's packet_filter arrives typed, with its patterns (text,
// hex, named), caps, callback and failure mode, and ftpgate check describes it.
func TestPacketFilterConfig(t *testing.T) {
	cfg := mustParse(t, "version: 1\nscript: policy.star\nservices:\n  - {name: a, policy: p}\n"+
		"policies:\n  p:\n    base: readwrite\n    data_path: kernel\n    packet_filter:\n"+
		"      scope: both\n      patterns: [EICAR, {hex: '4d 5a 90 00'}, {name: secret, text: CONFIDENTIAL}]\n"+
		"      max_size: 10MiB\n      max_rate: 1MiB\n      callback: mask_packet\n      queue_bypass: true\n      timeout: 80ms\n")
	s := cfg.Policies["p"].Packets
	if !s.Enabled || s.Scope != pktfilter.ScopeBoth || s.MaxSize != 10<<20 || s.MaxRate != 1<<20 || !s.Bypass ||
		s.Timeout != 80*time.Millisecond || s.Callback == nil || s.Callback.Name() != "mask_packet" {
		t.Fatalf("settings %+v", s)
	}
	want := []pktfilter.Pattern{{Name: "EICAR", Bytes: []byte("EICAR")}, {Name: "hex:4d5a9000", Bytes: []byte{0x4d, 0x5a, 0x90, 0}},
		{Name: "secret", Bytes: []byte("CONFIDENTIAL")}}
	if len(s.Patterns) != len(want) {
		t.Fatalf("patterns %+v", s.Patterns)
	}
	for i := range want {
		if s.Patterns[i].Name != want[i].Name || string(s.Patterns[i].Bytes) != string(want[i].Bytes) {
			t.Errorf("pattern %d: %+v, want %+v", i, s.Patterns[i], want[i])
		}
	}
	var out strings.Builder
	cfg.Describe(&out)
	if !strings.Contains(out.String(), `packet_filter: scope both, patterns ["EICAR", "hex:4d5a9000", "secret"], max_size 10485760, max_rate 1048576/s, callback mask_packet, fail open (queue_bypass), timeout 80ms`) {
		t.Errorf("describe:\n%s", out.String())
	}
	if d := mustParse(t, "version: 1\nservices:\n  - {name: a, policy: p}\npolicies:\n  p:\n    packet_filter: {patterns: [x]}\n").Policies["p"].Packets.WithDefaults(); d.Bypass || d.Scope != pktfilter.ScopeData || d.Timeout != pktfilter.DefaultTimeout {
		t.Errorf("defaults %+v: want fail-closed, scope data, the default timeout", d)
	}
	if plain := mustParse(t, minimal); plain.Policies["readonly"].Packets.Enabled {
		t.Error("a policy without packet_filter: filters")
	}
}

func TestPacketFilterConfigErrors(t *testing.T) {
	pol := func(lines string) string {
		return minimal + "script: policy.star\npolicies:\n  p:\n" + lines
	}
	long := strings.Repeat("x", pktfilter.MaxPatternLen+1)
	for _, tc := range []struct{ name, src, want string }{
		{"empty", pol("    packet_filter: {}\n"), "policies.p.packet_filter: filters nothing"},
		{"unknown key", pol("    packet_filter: {patern: [x]}\n"), "policies.p.packet_filter.patern: unknown key"},
		{"bad scope", pol("    packet_filter: {scope: up, patterns: [x]}\n"), `policies.p.packet_filter.scope: unknown value "up" (data, both)`},
		{"empty pattern", pol("    packet_filter: {patterns: ['']}\n"), "policies.p.packet_filter.patterns[0]: a pattern has 1 to 1024 bytes, not 0"},
		{"long pattern", pol("    packet_filter: {patterns: [" + long + "]}\n"), "a pattern has 1 to 1024 bytes, not 1025"},
		{"bad hex", pol("    packet_filter: {patterns: [{hex: 4g}]}\n"), "policies.p.packet_filter.patterns[0].hex: not hexadecimal bytes"},
		{"text and hex", pol("    packet_filter: {patterns: [{hex: '41', text: A}]}\n"), "policies.p.packet_filter.patterns[0]: needs exactly one of text, hex"},
		{"small rate", pol("    packet_filter: {max_rate: '100'}\n"), "policies.p.packet_filter.max_rate: at least 1KiB"},
		{"long timeout", pol("    packet_filter: {patterns: [x], timeout: 1m}\n"), "policies.p.packet_filter.timeout: at most 10s"},
		{"unknown callback", pol("    packet_filter: {callback: nope}\n"), `policies.p.packet_filter.callback: function "nope" is not defined`},
		{"proxy path", pol("    data_path: proxy\n    packet_filter: {patterns: [x]}\n"), "policies.p.packet_filter: filters the kernel path's channels, but data_path is proxy"},
		{"with inspect", "version: 1\nservices:\n  - {name: a, policy: p}\n" + inspectHooks + "policies:\n  p:\n    inspect: {download: inspect, hooks: [av]}\n    packet_filter: {patterns: [x]}\n",
			"policies.p.packet_filter: filters the kernel path's channels, but inspect: puts every channel through ftpgate"},
	} {
		if _, err := parseTest(t, tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
