package config

import (
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// services decodes the services: list.
func (b *builder) services(root, n *yaml.Node) error {
	items, err := b.list(n, "services")
	if err != nil {
		return err
	}
	if len(items) == 0 {
		at := root
		if n != nil {
			at = n
		}
		return b.errAt(at, "services", "at least one service is required")
	}
	first := map[string]int{}
	for i, it := range items {
		path := index("services", i)
		s, err := b.service(it, path)
		if err != nil {
			return err
		}
		if line, dup := first[s.Name]; dup {
			return b.errAt(it, join(path, "name"), "duplicate service name %q (first at line %d)", s.Name, line)
		}
		first[s.Name] = it.Line
		b.cfg.Services = append(b.cfg.Services, s)
	}
	return nil
}

// service decodes one service.
func (b *builder) service(n *yaml.Node, path string) (Service, error) {
	f, err := b.fields(n, path, "name", "client_networks", "server_networks", "server_ports", "policy")
	if err != nil {
		return Service{}, err
	}
	var s Service
	nameN, ok := f["name"]
	if !ok {
		return s, b.errAt(n, join(path, "name"), "required")
	}
	if s.Name, err = b.str(nameN, join(path, "name")); err != nil {
		return s, err
	}
	if s.Name == "" {
		return s, b.errAt(nameN, join(path, "name"), "must not be empty")
	}
	if s.ClientNets, err = b.networks(f["client_networks"], join(path, "client_networks")); err != nil {
		return s, err
	}
	if s.ServerNets, err = b.networks(f["server_networks"], join(path, "server_networks")); err != nil {
		return s, err
	}
	if s.ServerPorts, err = b.ports(f["server_ports"], join(path, "server_ports")); err != nil {
		return s, err
	}
	polN, ok := f["policy"]
	if !ok {
		return s, b.errAt(n, join(path, "policy"), "required")
	}
	if s.PolicyName, err = b.str(polN, join(path, "policy")); err != nil {
		return s, err
	}
	s.Policy, err = b.lookupPolicy(s.PolicyName, polN, join(path, "policy"))
	return s, err
}

// networks decodes a list of CIDRs (or single addresses); absent means any address.
func (b *builder) networks(n *yaml.Node, path string) ([]netip.Prefix, error) {
	if n == nil {
		return anyNets(), nil
	}
	items, err := b.strings(n, path)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, b.errAt(n, path, "must not be empty (leave the key out to match any address)")
	}
	nodes, _ := b.list(n, path)
	out := make([]netip.Prefix, 0, len(items))
	for i, s := range items {
		p, msg := parseNetwork(s)
		if msg != "" {
			return nil, b.errAt(nodes[i], index(path, i), "%s", msg)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseNetwork parses "198.51.100.0/24", "2001:db8::/32" or a single address; it refuses
// host bits below the mask and IPv4-mapped IPv6 networks (addresses are unmapped before
// matching, so those would never match). A non-empty message says what is wrong.
func parseNetwork(s string) (netip.Prefix, string) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, "invalid CIDR " + strconv.Quote(s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, "invalid address " + strconv.Quote(s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return p, "IPv4-mapped network " + strconv.Quote(s) + " never matches; write it as IPv4"
	}
	if m := p.Masked(); m != p {
		return p, "host bits set in " + strconv.Quote(s) + " (did you mean " + m.String() + "?)"
	}
	return p, ""
}

// ports decodes a list of ports (21) and ranges ("2000-2100"); absent means [21].
func (b *builder) ports(n *yaml.Node, path string) ([]PortRange, error) {
	if n == nil {
		return []PortRange{{From: 21, To: 21}}, nil
	}
	items, err := b.list(n, path)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, b.errAt(n, path, "must not be empty (leave the key out for port 21)")
	}
	out := make([]PortRange, 0, len(items))
	for i, it := range items {
		p := index(path, i)
		if it.Kind != yaml.ScalarNode || (it.ShortTag() != "!!int" && it.ShortTag() != "!!str") {
			return nil, b.errAt(it, p, "must be a port or a range \"FROM-TO\"")
		}
		r, ok := parsePortRange(it.Value)
		if !ok {
			return nil, b.errAt(it, p, "invalid port or range %q (1-65535, or \"FROM-TO\" with FROM <= TO)", it.Value)
		}
		out = append(out, r)
	}
	return out, nil
}

// parsePortRange parses "21" or "2000-2100".
func parsePortRange(s string) (PortRange, bool) {
	from, to, isRange := strings.Cut(s, "-")
	if !isRange {
		to = from
	}
	f, err1 := strconv.ParseUint(strings.TrimSpace(from), 10, 16)
	t, err2 := strconv.ParseUint(strings.TrimSpace(to), 10, 16)
	if err1 != nil || err2 != nil || f == 0 || f > t {
		return PortRange{}, false
	}
	return PortRange{From: uint16(f), To: uint16(t)}, true
}
