package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/policy"
)

// full is a configuration that uses every key.
const full = `version: 1
script: policy.star
default_service: anon
services:
  - name: office
    client_networks: [198.51.100.0/24, "2001:db8:1::/64", 192.0.2.7]
    server_networks: [203.0.113.0/24]
    server_ports: [21, "2000-2100"]
    policy: office-ro
  - name: anon
    policy: anonymous-only
  - name: lab
    policy: readwrite
policies:
  office-ro:
    base: readonly
    dry_run: true
    permit_unknown_command: true
    permit_empty_command: true
    limits: {max_line_length: 4096, max_username_length: 16, max_password_length: 128, max_reply_lines: 50, username_chars: "abc"}
    commands:
      STOR: {action: reject, code: 553, text: "Uploads are not allowed."}
      site: reject
      CWD:  {action: policy, callback: check_cwd}
      "*":  {action: reject, dry_run: true}
    answers:
      Null220: {action: policy, callback: greeting}
      pwd2: accept
      "*5": {action: change, code: 550, text: "Refused.", dry_run: true}
    features: {remove: ["MODE Z", "XCRC"], add: [UTF8]}
    tls: {server: required, verify: insecure}
  anonymous-only:
    base: anonymous
    allowed_users: [anonymous]
  unused: {}
`

func TestParseFull(t *testing.T) {
	cfg := mustParse(t, full)
	if cfg.Version != 1 || cfg.Path != "ftpgate.yaml" || cfg.Script != "policy.star" || cfg.DefaultService != "anon" {
		t.Errorf("header = %d %q %q %q", cfg.Version, cfg.Path, cfg.Script, cfg.DefaultService)
	}
	if got := len(cfg.Services); got != 3 {
		t.Fatalf("%d services, want 3", got)
	}
	office := cfg.Services[0]
	wantNets := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/64"), netip.MustParsePrefix("192.0.2.7/32")}
	if !slices.Equal(office.ClientNets, wantNets) {
		t.Errorf("office client nets = %v, want %v", office.ClientNets, wantNets)
	}
	if want := []PortRange{{21, 21}, {2000, 2100}}; !slices.Equal(office.ServerPorts, want) {
		t.Errorf("office ports = %v, want %v", office.ServerPorts, want)
	}
	if anon := cfg.Services[1]; !slices.Equal(anon.ClientNets, anyNets()) || !slices.Equal(anon.ServerPorts, []PortRange{{21, 21}}) {
		t.Errorf("anon defaults = %v %v", anon.ClientNets, anon.ServerPorts)
	}
	if names := sortedKeys(cfg.Policies); !slices.Equal(names, []string{"anonymous-only", "office-ro", "readwrite", "unused"}) {
		t.Errorf("policies = %v", names)
	}
	p := office.Policy
	if p != cfg.Policies["office-ro"] || p.Name != "office-ro" {
		t.Fatalf("office policy = %p %q, want the shared office-ro", p, p.Name)
	}
	if !p.DryRun || !p.PermitUnknownCommand || !p.PermitEmptyCommand {
		t.Errorf("flags = %v %v %v, want all true", p.DryRun, p.PermitUnknownCommand, p.PermitEmptyCommand)
	}
	if want := (policy.Limits{MaxLineLength: 4096, MaxUsernameLength: 16, MaxPasswordLength: 128, MaxReplyLines: 50, UsernameChars: "abc"}); p.Limits != want {
		t.Errorf("limits = %+v, want %+v", p.Limits, want)
	}
	entries := []struct {
		table map[string]policy.Action
		key   string
		want  policy.Action
	}{
		{p.Commands, "STOR", policy.Action{Kind: policy.Reject, Code: 553, Text: "Uploads are not allowed."}},
		{p.Commands, "SITE", policy.Action{Kind: policy.Reject}},
		{p.Commands, "CWD", policy.Action{Kind: policy.Callback, Callback: "check_cwd"}},
		{p.Commands, "*", policy.Action{Kind: policy.Reject, DryRun: true}},
		{p.Commands, "RETR", policy.Action{Kind: policy.Accept}}, // from the base
		{p.Answers, "Null220", policy.Action{Kind: policy.Callback, Callback: "greeting"}},
		{p.Answers, "PWD2", policy.Action{Kind: policy.Accept}},
		{p.Answers, "*5", policy.Action{Kind: policy.Change, Code: 550, Text: "Refused.", DryRun: true}},
	}
	for _, e := range entries {
		if got, ok := e.table[e.key]; !ok || got != e.want {
			t.Errorf("entry %s = %+v (%v), want %+v", e.key, got, ok, e.want)
		}
	}
	if want := []string{"MODE Z", "XCRC"}; !slices.Equal(p.Features.Remove, want) {
		t.Errorf("features.remove = %q, want %q (base's MODE Z once)", p.Features.Remove, want)
	}
	if want := []string{"UTF8"}; !slices.Equal(p.Features.Add, want) {
		t.Errorf("features.add = %q, want %q", p.Features.Add, want)
	}
	if want := (policy.TLSPolicy{Client: "refused", Server: "required", Verify: policy.TLSVerify{Mode: "insecure"}}); !equalTLS(p.TLS, want) {
		t.Errorf("tls = %+v, want %+v", p.TLS, want)
	}
	for name, pol := range cfg.Policies {
		if pol.Callbacks == nil {
			t.Errorf("policy %s has no Callbacks though a script is configured", name)
		}
	}
	if got := cfg.Policies["anonymous-only"].AllowedUsers; !slices.Equal(got, []string{"anonymous"}) {
		t.Errorf("allowed_users = %q", got)
	}
	base, err := policy.Preset("readonly")
	if err != nil {
		t.Fatal(err)
	}
	if base.Commands["SITE"].Kind != policy.Accept {
		t.Errorf("a fresh readonly preset refuses SITE as the configuration did: it changed a shared preset")
	}
}

func TestDescribe(t *testing.T) {
	cfg := mustParse(t, full)
	var b strings.Builder
	if err := cfg.Describe(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"configuration: ftpgate.yaml (version 1)\n",
		"script: policy.star\n",
		"default_service: anon\n",
		"service office\n  client_networks: 198.51.100.0/24, 2001:db8:1::/64, 192.0.2.7/32\n  server_networks: 203.0.113.0/24\n  server_ports: 21, 2000-2100\n  policy office-ro\n    base: readonly\n    dry_run: true (ACCEPTS everything the tables would refuse, and logs it)\n    permit_unknown_command: true\n    permit_empty_command: true\n    data_mode: keep  pasv_address: enforce  server_address: gateway default (-spoof)  active_source_port: random\n    tls: client refused  server required  verify insecure\n",
		`    limits: max_line_length=4096 max_username_length=16 max_password_length=128 max_reply_lines=50 username_chars="abc"` + "\n",
		"    features: remove=[MODE Z, XCRC] add=[UTF8]\n",
		"    callbacks: check_cwd, greeting\n",
		"    WARNING: dry_run lets write commands through this readonly-based policy: APPE DELE MFCT MFF MFMT MKD RMD RNFR RNTO STOR STOU XMKD XRMD\n",
		"    commands:\n      *      accept (dry run: would reject)\n",
		"      CWD    policy check_cwd\n",
		"      SITE   reject\n",
		"      STOR   reject 553 \"Uploads are not allowed.\"\n",
		"      *5        accept (dry run: would change 550 \"Refused.\")\n",
		"      PWD2      accept\n",
		"      Null220   policy greeting\n",
		"service anon\n  client_networks: 0.0.0.0/0, ::/0\n  server_networks: 0.0.0.0/0, ::/0\n  server_ports: 21\n  policy anonymous-only\n    base: anonymous\n",
		"    allowed_users: anonymous\n",
		"service lab\n",
		"  policy readwrite\n    base: readwrite\n",
		"    tls: client refused  server optional  verify system\n",
		"\npolicy unused (used by no service)\n  base: deny\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Describe output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
	// Entries are sorted: every command line of office-ro comes in order.
	if i, j := strings.Index(out, "      SITE   "), strings.Index(out, "      STOR   "); i < 0 || j < i {
		t.Errorf("commands not sorted: SITE at %d, STOR at %d", i, j)
	}
}

func TestDefault(t *testing.T) {
	cfg := Default()
	if cfg.Path != "" || cfg.Version != 1 || len(cfg.Services) != 1 || cfg.DefaultService != "" {
		t.Fatalf("Default() = %+v", cfg)
	}
	s := cfg.Services[0]
	if s.Name != "default" || s.PolicyName != "readwrite" || s.Policy != cfg.Policies["readwrite"] {
		t.Errorf("service = %+v", s)
	}
	if _, ok := s.Policy.Commands["STOR"]; !ok || s.Policy.Commands["STOR"].Kind != policy.Accept {
		t.Errorf("default policy does not accept STOR: %+v", s.Policy.Commands["STOR"])
	}
	if s.Policy.PermitUnknownCommand {
		t.Error("default policy permits unknown commands")
	}
	if err := s.Policy.Validate(); err != nil {
		t.Errorf("default policy invalid: %v", err)
	}
	for _, tt := range []struct{ client, server string }{
		{"198.51.100.1:40000", "203.0.113.5:21"},
		{"[2001:db8::1]:40000", "[2001:db8::2]:21"},
	} {
		if got, ok := cfg.Match(netip.MustParseAddrPort(tt.client), netip.MustParseAddrPort(tt.server)); !ok || got.Name != "default" {
			t.Errorf("Match(%s, %s) = %v, %v", tt.client, tt.server, got, ok)
		}
	}
	var b strings.Builder
	if err := cfg.Describe(&b); err != nil || !strings.HasPrefix(b.String(), "configuration: built-in default (version 1)\n") {
		t.Errorf("Describe = %q, %v", b.String(), err)
	}
}

// TestDeployExample checks that the shipped example configuration and script load.
func TestDeployExample(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "ftpgate.yaml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if cfg.Script == "" || len(cfg.Services) < 2 {
		t.Errorf("example has script %q and %d services; want a script and at least two", cfg.Script, len(cfg.Services))
	}
	if _, err := os.Stat(cfg.Script); err != nil {
		t.Errorf("script: %v", err)
	}
	var b strings.Builder
	if err := cfg.Describe(&b); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if err == nil || !strings.Contains(err.Error(), "none.yaml: read: ") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want a read error wrapping fs.ErrNotExist", err)
	}
}

// TestSiteCommands: site_commands replaces the base's list of SITE subcommands, upper-cased.
func TestSiteCommands(t *testing.T) {
	cfg := mustParse(t, "version: 1\nservices:\n  - name: s\n    policy: p\npolicies:\n  p:\n    base: readonly\n    site_commands: [help, chmod]\n")
	if got := cfg.Policies["p"].SiteCommands; !slices.Equal(got, []string{"HELP", "CHMOD"}) {
		t.Errorf("site_commands = %q", got)
	}
	var b strings.Builder
	if err := cfg.Describe(&b); err != nil || !strings.Contains(b.String(), "site_commands: HELP, CHMOD\n") {
		t.Errorf("Describe: %v\n%s", err, b.String())
	}
}
