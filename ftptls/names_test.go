package ftptls

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestNamesFor checks which names a minted certificate gets.
func TestNamesFor(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name     string
		server   netip.Addr
		sni      string
		upstream *x509.Certificate
		wantCN   string
		wantDNS  []string
		wantIPs  []string
		wantErr  string
	}{
		{"upstream SANs win over SNI", v4, "sni.example",
			&x509.Certificate{DNSNames: []string{"a.example"}, IPAddresses: []net.IP{net.ParseIP("192.0.2.9")}},
			"", []string{"a.example"}, []string{"192.0.2.9"}, ""},
		{"upstream CN only", v4, "sni.example", withCN("legacy.example"), "legacy.example", []string{"legacy.example"}, nil, ""},
		{"upstream CN not a host name", v4, "sni.example", withCN("Acme Corp"), "sni.example", []string{"sni.example"}, nil, ""},
		{"upstream without names, no SNI", v4, "", withCN(""), "192.0.2.1", nil, []string{"192.0.2.1"}, ""},
		{"SNI", v4, "sni.example", nil, "sni.example", []string{"sni.example"}, nil, ""},
		{"IPv4-mapped server", netip.MustParseAddr("::ffff:192.0.2.1"), "", nil, "192.0.2.1", nil, []string{"192.0.2.1"}, ""},
		{"IPv6 server with zone", netip.MustParseAddr("fe80::1%eth0"), "", nil, "fe80::1", nil, []string{"fe80::1"}, ""},
		{"bad SNI", v4, "a b", nil, "", nil, nil, "not a host name"},
		{"nothing", netip.Addr{}, "", nil, "", nil, nil, "no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := namesFor(tt.server, tt.sni, tt.upstream)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ips []string
			for _, ip := range n.ips {
				ips = append(ips, ip.String())
			}
			if n.cn != tt.wantCN || !slices.Equal(n.dns, tt.wantDNS) || !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("got CN %q DNS %v IPs %v, want %q %v %v", n.cn, n.dns, ips, tt.wantCN, tt.wantDNS, tt.wantIPs)
			}
		})
	}
}

// withCN returns a certificate with only a subject CN.
func withCN(cn string) *x509.Certificate {
	c := &x509.Certificate{}
	c.Subject.CommonName = cn
	return c
}

// TestIsHostname checks the host name filter for SNI and CN values.
func TestIsHostname(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"ftp.example", true},
		{"*.example.com", true},
		{"under_score.example", true},
		{"", false},
		{"192.0.2.1", false},
		{"::1", false},
		{"a b", false},
		{"a..b", false},
		{".a", false},
		{"a/b", false},
		{strings.Repeat("a", 254), false},
	}
	for _, tt := range tests {
		if got := isHostname(tt.in); got != tt.want {
			t.Errorf("isHostname(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestMintCacheEviction checks that the least recently used entry goes first.
func TestMintCacheEviction(t *testing.T) {
	c := newMintCache(2)
	a, b, d := &tls.Certificate{}, &tls.Certificate{}, &tls.Certificate{}
	c.put("a", a)
	c.put("b", b)
	c.get("a") // b is now the least recently used
	c.put("d", d)
	tests := []struct {
		key  string
		want *tls.Certificate
	}{
		{"a", a},
		{"b", nil},
		{"d", d},
	}
	for _, tt := range tests {
		got, ok := c.get(tt.key)
		if ok != (tt.want != nil) || got != tt.want {
			t.Errorf("get(%q) = %p, %v; want %p", tt.key, got, ok, tt.want)
		}
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
}
