package config

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"
)

// Describe writes what `ftpgate check` prints: the configuration's source, then per
// service its match criteria and its effective policy (base, flags, data channels, TLS,
// limits, features, callbacks, and every command and answer entry, sorted), then any
// policy no service uses.
func (c *Config) Describe(w io.Writer) error {
	ew := &errWriter{w: w}
	if c.Path == "" {
		ew.printf("configuration: built-in default (version %d)\n", c.Version)
	} else {
		ew.printf("configuration: %s (version %d)\n", c.Path, c.Version)
	}
	if c.Script != "" {
		ew.printf("script: %s\n", c.Script)
	}
	if c.DefaultService == "" {
		ew.printf("default_service: none (connections no service matches are refused with 421)\n")
	} else {
		ew.printf("default_service: %s\n", c.DefaultService)
	}
	used := map[string]bool{}
	for _, s := range c.Services {
		used[s.PolicyName] = true
		ew.printf("\nservice %s\n", s.Name)
		ew.printf("  client_networks: %s\n", joinPrefixes(s.ClientNets))
		ew.printf("  server_networks: %s\n", joinPrefixes(s.ServerNets))
		ew.printf("  server_ports: %s\n", joinPorts(s.ServerPorts))
		ew.printf("  policy %s\n", s.PolicyName)
		c.describePolicy(ew, s.Policy, "    ")
	}
	for _, name := range sortedKeys(c.Policies) {
		if !used[name] {
			ew.printf("\npolicy %s (used by no service)\n", name)
			c.describePolicy(ew, c.Policies[name], "  ")
		}
	}
	if ew.err != nil {
		return fmt.Errorf("describe configuration: %w", ew.err)
	}
	return nil
}

// describePolicy writes the effective settings of p, each line indented.
func (c *Config) describePolicy(ew *errWriter, p *policy.Policy, in string) {
	ew.printf("%sbase: %s\n", in, c.bases[p.Name])
	if p.DryRun {
		ew.printf("%sdry_run: true (ACCEPTS everything the tables would refuse, and logs it)\n", in)
	} else {
		ew.printf("%sdry_run: false\n", in)
	}
	ew.printf("%spermit_unknown_command: %t\n", in, p.PermitUnknownCommand)
	ew.printf("%spermit_empty_command: %t\n", in, p.PermitEmptyCommand)
	d := p.Data.WithDefaults()
	ew.printf("%sdata_mode: %s  pasv_address: %s  server_address: %s  active_source_port: %s\n", in,
		d.Mode, d.PasvAddress, d.ServerAddress, d.ActiveSourcePort)
	ew.printf("%stls: %s\n", in, describeTLS(p.TLS))
	ew.printf("%stls data: %s\n", in, describeTLSData(p.TLS))
	ew.printf("%sdata_path: %s  transfer_hash: %s\n", in, d.Path, d.Hash)
	ew.printf("%sinspect: %s\n", in, describeInspect(p.Inspect))
	if p.Packets.Enabled {
		ew.printf("%spacket_filter: %s\n", in, describePackets(p.Packets))
	}
	l := p.Limits.WithDefaults()
	ew.printf("%slimits: max_line_length=%d max_username_length=%d max_password_length=%d max_reply_lines=%d username_chars=%q\n",
		in, l.MaxLineLength, l.MaxUsernameLength, l.MaxPasswordLength, l.MaxReplyLines, l.UsernameChars)
	if len(p.AllowedUsers) == 0 {
		ew.printf("%sallowed_users: any\n", in)
	} else {
		ew.printf("%sallowed_users: %s\n", in, strings.Join(p.AllowedUsers, ", "))
	}
	if len(p.SiteCommands) == 0 {
		ew.printf("%ssite_commands: any\n", in)
	} else {
		ew.printf("%ssite_commands: %s\n", in, strings.Join(p.SiteCommands, ", "))
	}
	ew.printf("%sfeatures: remove=[%s] add=[%s]\n", in, strings.Join(p.Features.Remove, ", "), strings.Join(p.Features.Add, ", "))
	cbs := callbacks(p)
	switch {
	case len(cbs) == 0:
		ew.printf("%scallbacks: none\n", in)
	case p.Callbacks == nil:
		ew.printf("%scallbacks: %s (NO SCRIPT)\n", in, strings.Join(cbs, ", "))
	default:
		ew.printf("%scallbacks: %s\n", in, strings.Join(cbs, ", "))
	}
	if open := dryRunWrites(p); len(open) > 0 && c.readOnlyBase(p) {
		ew.printf("%sWARNING: dry_run lets write commands through this %s-based policy: %s\n",
			in, c.bases[p.Name], strings.Join(open, " "))
	}
	ew.printf("%scommands:\n", in)
	for _, k := range sortedKeys(p.Commands) {
		ew.printf("%s  %-6s %s\n", in, k, formatAction(p.Commands[k]))
	}
	ew.printf("%sanswers:\n", in)
	for _, k := range sortedKeys(p.Answers) {
		ew.printf("%s  %-9s %s\n", in, k, formatAction(p.Answers[k]))
	}
}

// readOnlyBase reports whether p is built on a preset that refuses writes.
func (c *Config) readOnlyBase(p *policy.Policy) bool {
	switch c.bases[p.Name] {
	case "deny", "readonly", "anonymous":
		return true
	}
	return false
}

// dryRunWrites lists the write verbs (wire.Verb.Write) that p accepts only because of a dry
// run: of the policy, or of the command table entry that decides them.
func dryRunWrites(p *policy.Policy) []string {
	var out []string
	for _, v := range wire.All() {
		if !v.Write {
			continue
		}
		a, ok := p.Commands[v.Name]
		if !ok {
			a, ok = p.Commands[policy.Wildcard]
		}
		refused := !ok || a.Kind != policy.Accept
		if refused && (p.DryRun || ok && a.DryRun) {
			out = append(out, v.Name)
		}
	}
	return out
}

// formatAction writes an entry as "reject 553 \"text\"", "policy check_cwd", or for a dry
// run "accept (dry run: would reject 553 \"text\")": the entry accepts.
func formatAction(a policy.Action) string {
	if a.DryRun && a.Kind != policy.Accept {
		b := a
		b.DryRun = false
		return "accept (dry run: would " + formatAction(b) + ")"
	}
	parts := []string{a.Kind.String()}
	if a.Code != 0 {
		parts = append(parts, strconv.Itoa(a.Code))
	}
	if a.Text != "" {
		parts = append(parts, strconv.Quote(a.Text))
	}
	if a.Callback != "" {
		parts = append(parts, a.Callback)
	}
	return strings.Join(parts, " ")
}

// callbacks lists the callbacks p's tables name, sorted and without duplicates.
func callbacks(p *policy.Policy) []string {
	set := map[string]bool{}
	for _, t := range []map[string]policy.Action{p.Commands, p.Answers} {
		for _, a := range t {
			if a.Kind == policy.Callback {
				set[a.Callback] = true
			}
		}
	}
	return sortedKeys(set)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinPrefixes formats networks for Describe.
func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// joinPorts formats port ranges for Describe.
func joinPorts(rs []PortRange) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// errWriter keeps the first write error, so Describe checks once at the end.
type errWriter struct {
	w   io.Writer
	err error
}

// printf writes unless an earlier write failed.
func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
