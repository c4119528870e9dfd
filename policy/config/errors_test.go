package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// minimal is a valid configuration that the error cases extend.
const minimal = "version: 1\nservices:\n  - {name: a, policy: readonly}\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"empty file", "", "ftpgate.yaml: empty configuration"},
		{"only comments", "# nothing\n", "ftpgate.yaml: empty configuration"},
		{"syntax", "version: 1\nservices: [\n", "ftpgate.yaml:2: did not find expected node content"},
		{"two documents", minimal + "---\nversion: 1\n", "ftpgate.yaml:4: more than one YAML document"},
		{"top level list", "- 1\n", "ftpgate.yaml:1: must be a mapping"},
		{"unknown top key", minimal + "servcies: []\n", "ftpgate.yaml:4: servcies: unknown key"},
		{"duplicate key", minimal + "version: 1\n", "ftpgate.yaml:4: version: duplicate key (first at line 1)"},
		{"version missing", "services:\n  - {name: a, policy: readonly}\n", "ftpgate.yaml:1: version: required (must be 1)"},
		{"version 2", "services:\n  - {name: a, policy: readonly}\nversion: 2\n", "ftpgate.yaml:3: version: must be 1"},
		{"version string", "version: \"1\"\n", "ftpgate.yaml:1: version: must be an integer"},
		{"no services", "version: 1\n", "ftpgate.yaml:1: services: at least one service is required"},
		{"services not a list", "version: 1\nservices: {a: 1}\n", "ftpgate.yaml:2: services: must be a list"},
		{"service without name", "version: 1\nservices:\n  - policy: readonly\n", "ftpgate.yaml:3: services[0].name: required"},
		{"service without policy", "version: 1\nservices:\n  - name: a\n", "ftpgate.yaml:3: services[0].policy: required"},
		{"service unknown key", "version: 1\nservices:\n  - name: a\n    polcy: readonly\n", "ftpgate.yaml:4: services[0].polcy: unknown key"},
		{"duplicate service", minimal + "  - {name: a, policy: deny}\n", `ftpgate.yaml:4: services[1].name: duplicate service name "a" (first at line 3)`},
		{"invalid CIDR", "version: 1\nservices:\n  - {name: a, policy: deny, client_networks: [10.0.0.0/8, 198.51.100.0/33]}\n",
			`ftpgate.yaml:3: services[0].client_networks[1]: invalid CIDR "198.51.100.0/33"`},
		{"invalid address", "version: 1\nservices:\n  - name: a\n    policy: deny\n    server_networks:\n      - 203.0.113.300\n",
			`ftpgate.yaml:6: services[0].server_networks[0]: invalid address "203.0.113.300"`},
		{"host bits", "version: 1\nservices:\n  - {name: a, policy: deny, client_networks: [198.51.100.7/24]}\n",
			`ftpgate.yaml:3: services[0].client_networks[0]: host bits set in "198.51.100.7/24" (did you mean 198.51.100.0/24?)`},
		{"mapped network", "version: 1\nservices:\n  - {name: a, policy: deny, client_networks: [\"::ffff:10.0.0.0/104\"]}\n",
			`ftpgate.yaml:3: services[0].client_networks[0]: IPv4-mapped network "::ffff:10.0.0.0/104" never matches; write it as IPv4`},
		{"empty networks", "version: 1\nservices:\n  - {name: a, policy: deny, server_networks: []}\n",
			"ftpgate.yaml:3: services[0].server_networks: must not be empty (leave the key out to match any address)"},
		{"port zero", "version: 1\nservices:\n  - {name: a, policy: deny, server_ports: [0]}\n",
			`ftpgate.yaml:3: services[0].server_ports[0]: invalid port or range "0" (1-65535, or "FROM-TO" with FROM <= TO)`},
		{"port range reversed", "version: 1\nservices:\n  - {name: a, policy: deny, server_ports: [21, \"2100-2000\"]}\n",
			`ftpgate.yaml:3: services[0].server_ports[1]: invalid port or range "2100-2000" (1-65535, or "FROM-TO" with FROM <= TO)`},
		{"undefined policy", "version: 1\nservices:\n  - name: a\n    policy: offce\n",
			`ftpgate.yaml:4: services[0].policy: undefined policy "offce" (not under policies:, and not a preset: allow, anonymous, deny, readonly, readwrite)`},
		{"default service unknown", minimal + "default_service: b\n", `ftpgate.yaml:4: default_service: no service named "b"`},
		{"policy named like a preset", minimal + "policies:\n  readonly: {}\n",
			`ftpgate.yaml:5: policies.readonly: "readonly" is a preset name; choose another name and use base: readonly`},
		{"unknown base", minimal + "policies:\n  p:\n    base: readonly-ish\n",
			`ftpgate.yaml:6: policies.p.base: unknown preset "readonly-ish" (allow, anonymous, deny, readonly, readwrite)`},
		{"bool type", minimal + "policies:\n  p:\n    dry_run: yes\n", "ftpgate.yaml:6: policies.p.dry_run: must be true or false"},
		{"data mode", minimal + "policies:\n  p:\n    data_mode: sideways\n", `ftpgate.yaml:6: policies.p.data_mode: unknown value "sideways" (keep, passive, active)`},
		{"pasv address", minimal + "policies:\n  p:\n    pasv_address: trust\n", `ftpgate.yaml:6: policies.p.pasv_address: unknown value "trust" (enforce, rewrite)`},
		{"server address", minimal + "policies:\n  p:\n    server_address: mine\n", `ftpgate.yaml:6: policies.p.server_address: unknown value "mine" (client, box)`},
		{"server address ip", minimal + "policies:\n  p:\n    server_address: 203.0.113.300\n", `ftpgate.yaml:6: policies.p.server_address: unknown value "203.0.113.300" (client, box)`},
		{"limit type", minimal + "policies:\n  p:\n    limits: {max_username_length: \"x\"}\n",
			"ftpgate.yaml:6: policies.p.limits.max_username_length: must be an integer"},
		{"limit range", minimal + "policies:\n  p:\n    limits:\n      max_line_length: 100\n",
			"ftpgate.yaml:7: policies.p.limits.max_line_length: 100 out of range 512-1048576"},
		{"username chars", minimal + "policies:\n  p:\n    limits: {username_chars: \"ab c\"}\n",
			`ftpgate.yaml:6: policies.p.limits.username_chars: contains ' ' (only printable characters other than space)`},
		{"unknown action", minimal + "policies:\n  office-ro:\n    commands:\n      STOR: {action: rejct}\n",
			`ftpgate.yaml:7: policies.office-ro.commands.STOR.action: unknown action "rejct" (accept, reject, abort, change, policy)`},
		{"unknown shorthand", minimal + "policies:\n  p:\n    commands:\n      STOR: deny\n",
			`ftpgate.yaml:7: policies.p.commands.STOR: unknown action "deny" (accept, reject, abort, change, policy)`},
		{"action missing", minimal + "policies:\n  p:\n    commands:\n      STOR: {code: 553}\n",
			"ftpgate.yaml:7: policies.p.commands.STOR.action: required"},
		{"action wrong type", minimal + "policies:\n  p:\n    commands:\n      STOR: [reject]\n",
			"ftpgate.yaml:7: policies.p.commands.STOR: must be an action (accept, reject, abort) or a mapping with action:"},
		{"invalid verb", minimal + "policies:\n  p:\n    commands:\n      ST-OR: accept\n",
			`ftpgate.yaml:7: policies.p.commands.ST-OR: invalid command (1 to 16 letters, or "*")`},
		{"verb twice in two cases", minimal + "policies:\n  p:\n    commands:\n      STOR: accept\n      stor: reject\n",
			"ftpgate.yaml:8: policies.p.commands.stor: duplicate command STOR (first at line 7)"},
		{"change on a command", minimal + "policies:\n  p:\n    commands:\n      STOR: {action: change, code: 553, text: x}\n",
			"ftpgate.yaml:7: policies.p.commands.STOR.action: change is for answers only (use reject, or policy with a callback)"},
		{"change shorthand", minimal + "policies:\n  p:\n    answers:\n      PWD: change\n",
			"ftpgate.yaml:7: policies.p.answers.PWD: change needs code and text: write {action: change, code: ..., text: ...}"},
		{"change without text", minimal + "policies:\n  p:\n    answers:\n      Null220: {action: change, code: 220}\n",
			"ftpgate.yaml:7: policies.p.answers.Null220: change needs both code and text"},
		{"reject code out of range", minimal + "policies:\n  p:\n    commands:\n      STOR: {action: reject, code: 600}\n",
			"ftpgate.yaml:7: policies.p.commands.STOR.code: 600 out of range 400-599"},
		{"reject with a success code", minimal + "policies:\n  p:\n    commands:\n      STOR: {action: reject, code: 226}\n",
			"ftpgate.yaml:7: policies.p.commands.STOR.code: 226 out of range 400-599"},
		{"verb with a digit", minimal + "policies:\n  p:\n    commands:\n      MD5: accept\n",
			`ftpgate.yaml:7: policies.p.commands.MD5: invalid command (1 to 16 letters, or "*")`},
		{"feature with trailing space", minimal + "policies:\n  p:\n    features: {add: [\"UTF8 \"]}\n",
			`ftpgate.yaml:6: policies.p.features.add[0]: invalid feature "UTF8 "`},
		{"engine validation", minimal + "policies:\n  p:\n    allowed_users: [\"a!b\"]\n",
			`ftpgate.yaml:5: policies.p: policy: invalid policy "p": allowed_users[0] "a!b": user name contains '!', not in username_chars`},
		{"change code out of range", minimal + "policies:\n  p:\n    answers:\n      PWD: {action: change, code: 99, text: x}\n",
			"ftpgate.yaml:7: policies.p.answers.PWD.code: 99 out of range 100-599"},
		{"code on accept", minimal + "policies:\n  p:\n    commands:\n      STOR: {action: accept, code: 200}\n",
			"ftpgate.yaml:7: policies.p.commands.STOR.code: only for reject and change"},
		{"text with newline", minimal + "policies:\n  p:\n    commands:\n      STOR: {action: reject, text: \"a\\r\\n226 b\"}\n",
			"ftpgate.yaml:7: policies.p.commands.STOR.text: must be one line without NUL, at most 1024 bytes"},
		{"answer key with 4 digits", minimal + "policies:\n  p:\n    answers:\n      PWD2570: accept\n",
			`ftpgate.yaml:7: policies.p.answers.PWD2570: invalid answer key (a command, "*" or "Null", then up to 3 digits of a code: PWD257, PWD2, *5, Null220)`},
		{"invalid answer key", minimal + "policies:\n  p:\n    answers:\n      PWD7: accept\n",
			`ftpgate.yaml:7: policies.p.answers.PWD7: invalid answer key (a command, "*" or "Null", then up to 3 digits of a code: PWD257, PWD2, *5, Null220)`},
		{"callback without script", minimal + "policies:\n  p:\n    commands:\n      CWD: {action: policy, callback: check_cwd}\n",
			`ftpgate.yaml:7: policies.p.commands.CWD.callback: callback "check_cwd" needs a script (set script: at the top level)`},
		{"callback not in script", "script: policy.star\n" + minimal + "policies:\n  p:\n    commands:\n      CWD: {action: policy, callback: check_dir}\n",
			`ftpgate.yaml:8: policies.p.commands.CWD.callback: function "check_dir" is not defined in policy.star`},
		{"policy without callback", minimal + "policies:\n  p:\n    commands:\n      CWD: {action: policy}\n",
			"ftpgate.yaml:7: policies.p.commands.CWD.callback: required for action policy"},
		{"callback on reject", minimal + "policies:\n  p:\n    commands:\n      CWD: {action: reject, callback: x}\n",
			"ftpgate.yaml:7: policies.p.commands.CWD.callback: only for action policy"},
		{"dry_run type", minimal + "policies:\n  p:\n    commands:\n      \"*\": {action: reject, dry_run: 1}\n",
			`ftpgate.yaml:7: policies.p.commands.*.dry_run: must be true or false`},
		{"site command", minimal + "policies:\n  p:\n    site_commands: [CHMOD, \"CH MOD\"]\n",
			`ftpgate.yaml:6: policies.p.site_commands[1]: invalid SITE subcommand "CH MOD" (letters only)`},
		{"log renamed", minimal + "policies:\n  p:\n    commands:\n      \"*\": {action: reject, log: true}\n",
			`ftpgate.yaml:7: policies.p.commands.*.log: renamed to dry_run, which ACCEPTS what would be refused and only logs it (to refuse, leave it out)`},
		{"learning renamed", minimal + "policies:\n  p:\n    learning: true\n",
			`ftpgate.yaml:6: policies.p.learning: renamed to dry_run, which ACCEPTS what would be refused and only logs it (to refuse, leave it out)`},
		{"feature type", minimal + "policies:\n  p:\n    features: {remove: MODE Z}\n",
			"ftpgate.yaml:6: policies.p.features.remove: must be a list"},
		{"allowed user empty", minimal + "policies:\n  p:\n    allowed_users: [anonymous, \"\"]\n",
			`ftpgate.yaml:6: policies.p.allowed_users[1]: invalid user name ""`},
		{"script missing", "script: nowhere.star\n" + minimal,
			"ftpgate.yaml:1: script: read nowhere.star: open nowhere.star: file does not exist"},
		{"script empty name", "script: \"\"\n" + minimal,
			"ftpgate.yaml:1: script: must not be empty (leave the key out for no script)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseTest(t, tt.src)
			if err == nil {
				t.Fatalf("Parse succeeded (%d services), want error %q", len(cfg.Services), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// TestScriptErrors checks that a broken script is reported at the script: key.
func TestScriptErrors(t *testing.T) {
	tests := []struct {
		name   string
		script string
		prefix string
	}{
		{"missing", "", "ftpgate.yaml:1: script: read policy.star: "},
		{"syntax", "def f(:\n", "ftpgate.yaml:1: script: load policy.star: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			if tt.script != "" {
				m["policy.star"] = tt.script
			}
			_, err := Parse("ftpgate.yaml", []byte("script: policy.star\n"+minimal), files(m))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.HasPrefix(err.Error(), tt.prefix) {
				t.Errorf("error %q, want prefix %q", err, tt.prefix)
			}
			// A missing script must not look like a missing configuration file, which
			// callers may replace by the built-in default.
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v wraps fs.ErrNotExist", err)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Path: "a.b", Msg: "bad"}, "f.yaml:3: a.b: bad"},
		{Error{File: "f.yaml", Line: 3, Msg: "bad"}, "f.yaml:3: bad"},
		{Error{File: "f.yaml", Msg: "bad"}, "f.yaml: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
