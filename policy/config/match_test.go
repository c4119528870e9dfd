package config

import (
	"net/netip"
	"testing"
)

const matchConfig = `version: 1
services:
  - name: office-v4
    client_networks: [198.51.100.0/24]
    server_networks: [203.0.113.0/24]
    policy: readonly
  - name: office-v6
    client_networks: ["2001:db8:1::/64"]
    policy: readonly
  - name: broad
    client_networks: [198.51.0.0/16]
    server_ports: [21, "2000-2100"]
    policy: readwrite
  - name: fallback
    client_networks: [192.0.2.1]
    server_ports: [9]
    policy: deny
`

func TestMatch(t *testing.T) {
	tests := []struct {
		name           string
		config         string
		client, server string
		want           string // "" = refused
	}{
		{"first match wins", matchConfig, "198.51.100.9:50000", "203.0.113.5:21", "office-v4"},
		{"later service when the first's server network misses", matchConfig, "198.51.100.9:50000", "192.0.2.80:21", "broad"},
		{"IPv6", matchConfig, "[2001:db8:1::5]:50000", "[2001:db8:9::1]:21", "office-v6"},
		{"IPv6 outside", matchConfig, "[2001:db8:2::5]:50000", "[2001:db8:9::1]:21", ""},
		{"IPv4-mapped client and server", matchConfig, "[::ffff:198.51.100.9]:50000", "[::ffff:203.0.113.5]:21", "office-v4"},
		{"default port 21 only", matchConfig, "198.51.100.9:50000", "203.0.113.5:2050", "broad"},
		{"port range low end", matchConfig, "198.51.7.1:50000", "203.0.113.5:2000", "broad"},
		{"port range high end", matchConfig, "198.51.7.1:50000", "203.0.113.5:2100", "broad"},
		{"port outside the range", matchConfig, "198.51.7.1:50000", "203.0.113.5:2101", ""},
		{"single address network", matchConfig, "192.0.2.1:50000", "203.0.113.5:9", "fallback"},
		{"no match", matchConfig, "192.0.2.2:50000", "203.0.113.5:21", ""},
		{"default service", matchConfig + "default_service: fallback\n", "192.0.2.2:50000", "203.0.113.5:21", "fallback"},
		{"default service not used when one matches", matchConfig + "default_service: fallback\n", "198.51.100.9:50000", "203.0.113.5:21", "office-v4"},
		{"IPv4 service does not match IPv6", matchConfig, "[2001:db8:3::1]:50000", "[2001:db8:9::1]:2000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.config)
			s, ok := cfg.Match(netip.MustParseAddrPort(tt.client), netip.MustParseAddrPort(tt.server))
			got := ""
			if ok {
				got = s.Name
				if s.Policy == nil || s.Policy != cfg.Policies[s.PolicyName] {
					t.Errorf("service %s has policy %p, want Policies[%q]", s.Name, s.Policy, s.PolicyName)
				}
			} else if s != nil {
				t.Errorf("refused, yet service %v returned", s.Name)
			}
			if got != tt.want {
				t.Errorf("Match(%s, %s) = %q, want %q", tt.client, tt.server, got, tt.want)
			}
		})
	}
}
