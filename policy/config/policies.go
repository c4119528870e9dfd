package config

import (
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/policy"
)

// defaultBase is the preset a policy starts from when it names none: the safe one, which
// passes nothing but login and data connection set-up.
const defaultBase = "deny"

// policy decodes one entry of policies: into a fresh Policy built on its base preset, and
// returns it with the base's name.
func (b *builder) policy(name string, n *yaml.Node, path string) (*policy.Policy, string, error) {
	f, err := b.fields(n, path, "base", "dry_run", "permit_unknown_command", "permit_empty_command",
		"limits", "commands", "answers", "features", "allowed_users", "site_commands", "data_mode", "data_path", "transfer_hash", "pasv_address", "server_address", "active_source_port", "tls", "inspect", "packet_filter")
	if err != nil {
		return nil, "", err
	}
	p, base, err := b.basePolicy(f, path)
	if err != nil {
		return nil, "", err
	}
	p.Name = name
	if err := b.policyFlags(f, path, p); err != nil {
		return nil, "", err
	}
	if err := b.policySettings(f, path, p); err != nil {
		return nil, "", err
	}
	if err := b.commands(f["commands"], join(path, "commands"), p); err != nil {
		return nil, "", err
	}
	permitCCC(p)
	if err := b.answers(f["answers"], join(path, "answers"), p); err != nil {
		return nil, "", err
	}
	return p, base, nil
}

// basePolicy decodes a policy's base: key (defaultBase when absent) and returns a fresh
// copy of that preset with its name.
func (b *builder) basePolicy(f map[string]*yaml.Node, path string) (*policy.Policy, string, error) {
	base := defaultBase
	if bn, ok := f["base"]; ok {
		var err error
		if base, err = b.str(bn, join(path, "base")); err != nil {
			return nil, "", err
		}
		if !isPreset(base) {
			return nil, "", b.errAt(bn, join(path, "base"), "unknown preset %q (%s)",
				base, strings.Join(policy.PresetNames(), ", "))
		}
	}
	p, err := policy.Preset(base)
	if err != nil {
		return nil, "", b.errAt(f["base"], join(path, "base"), "preset %q: %v", base, err)
	}
	return p, base, nil
}

// policyFlags decodes the boolean switches of a policy (dry_run, permit_unknown_command,
// permit_empty_command) that f sets into p.
func (b *builder) policyFlags(f map[string]*yaml.Node, path string, p *policy.Policy) error {
	flags := []struct {
		key string
		dst *bool
	}{
		{"dry_run", &p.DryRun},
		{"permit_unknown_command", &p.PermitUnknownCommand},
		{"permit_empty_command", &p.PermitEmptyCommand},
	}
	for _, fl := range flags {
		if v, ok := f[fl.key]; ok {
			var err error
			if *fl.dst, err = b.boolean(v, join(path, fl.key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// policySettings decodes a policy's limits, features, allowed users, data channel and TLS
// settings into p, in that order.
func (b *builder) policySettings(f map[string]*yaml.Node, path string, p *policy.Policy) error {
	if err := b.limits(f["limits"], join(path, "limits"), &p.Limits); err != nil {
		return err
	}
	if err := b.features(f["features"], join(path, "features"), &p.Features); err != nil {
		return err
	}
	if v, ok := f["allowed_users"]; ok {
		var err error
		if p.AllowedUsers, err = b.allowedUsers(v, join(path, "allowed_users")); err != nil {
			return err
		}
	}
	if v, ok := f["site_commands"]; ok {
		var err error
		if p.SiteCommands, err = b.siteCommands(v, join(path, "site_commands")); err != nil {
			return err
		}
	}
	if err := b.data(f, path, &p.Data); err != nil {
		return err
	}
	if err := b.inspection(f["inspect"], join(path, "inspect"), &p.Inspect); err != nil {
		return err
	}
	if err := b.packetFilter(f["packet_filter"], join(path, "packet_filter"), &p.Packets); err != nil {
		return err
	}
	if n := f["packet_filter"]; n != nil {
		switch {
		case p.Data.Path == policy.PathProxy:
			return b.errAt(n, join(path, "packet_filter"), "filters the kernel path's channels, but data_path is proxy")
		case p.Inspect.Active():
			return b.errAt(n, join(path, "packet_filter"), "filters the kernel path's channels, but inspect: puts every channel through ftpgate (use chunk hooks there)")
		}
	}
	return b.tls(f["tls"], join(path, "tls"), &p.TLS)
}

// siteCommands decodes the SITE subcommands a policy allows: words of ASCII letters, stored
// upper-case. An empty list allows any subcommand.
func (b *builder) siteCommands(n *yaml.Node, path string) ([]string, error) {
	words, err := b.strings(n, path)
	if err != nil {
		return nil, err
	}
	nodes, _ := b.list(n, path)
	out := make([]string, 0, len(words))
	for i, w := range words {
		if !policy.ValidSiteCommand(w) {
			return nil, b.errAt(nodes[i], index(path, i), "invalid SITE subcommand %q (letters only)", w)
		}
		out = append(out, strings.ToUpper(w))
	}
	return out, nil
}

// permitCCC lets CCC pass when tls.ccc: true, the operator's word that CCC may pass, unless
// the command table names CCC itself.
func permitCCC(p *policy.Policy) {
	if _, named := p.Commands["CCC"]; p.TLS.AllowCCC && !named {
		if p.Commands == nil {
			p.Commands = map[string]policy.Action{}
		}
		p.Commands["CCC"] = policy.Action{Kind: policy.Accept}
	}
}

// limits overrides the limits the mapping n sets.
func (b *builder) limits(n *yaml.Node, path string, l *policy.Limits) error {
	f, err := b.fields(n, path, "max_line_length", "max_username_length", "max_password_length",
		"max_reply_lines", "username_chars")
	if err != nil {
		return err
	}
	ints := []struct {
		key    string
		lo, hi int
		dst    *int
	}{
		{"max_line_length", 512, 1 << 20, &l.MaxLineLength},
		{"max_username_length", 1, 1024, &l.MaxUsernameLength},
		{"max_password_length", 1, 4096, &l.MaxPasswordLength},
		{"max_reply_lines", 1, 1 << 20, &l.MaxReplyLines},
	}
	for _, it := range ints {
		if v, ok := f[it.key]; ok {
			if *it.dst, err = b.integer(v, join(path, it.key), it.lo, it.hi); err != nil {
				return err
			}
		}
	}
	if v, ok := f["username_chars"]; ok {
		if l.UsernameChars, err = b.str(v, join(path, "username_chars")); err != nil {
			return err
		}
		if l.UsernameChars == "" {
			return b.errAt(v, join(path, "username_chars"), "must not be empty (leave the key out for the default)")
		}
		for _, r := range l.UsernameChars {
			if !unicode.IsPrint(r) || unicode.IsSpace(r) {
				return b.errAt(v, join(path, "username_chars"), "contains %q (only printable characters other than space)", r)
			}
		}
	}
	return nil
}

// features adds the mapping n's remove: and add: lists to the base's.
func (b *builder) features(n *yaml.Node, path string, ft *policy.Features) error {
	f, err := b.fields(n, path, "remove", "add")
	if err != nil {
		return err
	}
	lists := []struct {
		key string
		dst *[]string
	}{{"remove", &ft.Remove}, {"add", &ft.Add}}
	for _, li := range lists {
		v, ok := f[li.key]
		if !ok {
			continue
		}
		items, err := b.strings(v, join(path, li.key))
		if err != nil {
			return err
		}
		nodes, _ := b.list(v, join(path, li.key))
		merged := append([]string(nil), (*li.dst)...)
		for i, s := range items {
			if strings.TrimSpace(s) != s || s == "" || strings.ContainsFunc(s, isControl) {
				return b.errAt(nodes[i], index(join(path, li.key), i), "invalid feature %q", s)
			}
			if !containsFold(merged, s) {
				merged = append(merged, s)
			}
		}
		*li.dst = merged
	}
	return nil
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// allowedUsers decodes allowed_users:, which replaces the base's list; an empty list lets
// any user name pass.
func (b *builder) allowedUsers(n *yaml.Node, path string) ([]string, error) {
	users, err := b.strings(n, path)
	if err != nil {
		return nil, err
	}
	nodes, _ := b.list(n, path)
	for i, u := range users {
		if u == "" || strings.ContainsAny(u, " \t\r\n\x00") {
			return nil, b.errAt(nodes[i], index(path, i), "invalid user name %q", u)
		}
	}
	return users, nil
}

// isControl reports whether r is an ASCII control character.
func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// data decodes a policy's data channel settings into d.
func (b *builder) data(f map[string]*yaml.Node, path string, d *policy.DataPolicy) error {
	if err := enum(b, f, path, "data_mode", &d.Mode, policy.DataModes()); err != nil {
		return err
	}
	if err := enum(b, f, path, "data_path", &d.Path, policy.DataPaths()); err != nil {
		return err
	}
	if err := enum(b, f, path, "transfer_hash", &d.Hash, policy.TransferHashes()); err != nil {
		return err
	}
	if err := enum(b, f, path, "pasv_address", &d.PasvAddress, policy.PasvAddresses()); err != nil {
		return err
	}
	if err := enum(b, f, path, "active_source_port", &d.ActiveSourcePort, policy.SourcePorts()); err != nil {
		return err
	}
	v, ok := f["server_address"]
	if !ok {
		return nil
	}
	s, err := b.str(v, join(path, "server_address"))
	if err != nil {
		return err
	}
	if d.ServerAddress, err = policy.ParseServerAddress(s); err != nil {
		return b.errAt(v, join(path, "server_address"), "%v", err)
	}
	return nil
}
