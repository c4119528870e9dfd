package ftptls

import (
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// leafNames are the names a minted certificate carries.
type leafNames struct {
	cn  string
	dns []string
	ips []netip.Addr
}

// namesFor chooses the names of a minted certificate: the upstream certificate's
// subject CN and DNS/IP SANs when known (its CN as a DNS name when it has no SANs),
// else the SNI as a DNS name, else the server address as an IP SAN.
func namesFor(server netip.Addr, sni string, upstream *x509.Certificate) (leafNames, error) {
	if upstream != nil {
		n := leafNames{cn: upstream.Subject.CommonName, dns: slices.Clone(upstream.DNSNames)}
		for _, ip := range upstream.IPAddresses {
			if a, ok := netip.AddrFromSlice(ip); ok {
				n.ips = append(n.ips, a.Unmap())
			}
		}
		if len(n.dns) == 0 && len(n.ips) == 0 && isHostname(n.cn) {
			n.dns = []string{n.cn}
		}
		if len(n.dns) > 0 || len(n.ips) > 0 {
			return n, nil
		}
	}
	if sni != "" {
		if !isHostname(sni) {
			return leafNames{}, errors.New("ftptls: SNI " + sni + " is not a host name")
		}
		return leafNames{cn: sni, dns: []string{sni}}, nil
	}
	if server.IsValid() {
		ip := server.Unmap().WithZone("")
		return leafNames{cn: ip.String(), ips: []netip.Addr{ip}}, nil
	}
	return leafNames{}, errors.New("ftptls: no name for the certificate: no upstream certificate, SNI or server address")
}

// key returns a canonical cache key for the names.
func (n leafNames) key() string {
	dns := slices.Clone(n.dns)
	for i := range dns {
		dns[i] = strings.ToLower(dns[i])
	}
	slices.Sort(dns)
	ips := make([]string, len(n.ips))
	for i, ip := range n.ips {
		ips[i] = ip.String()
	}
	slices.Sort(ips)
	return n.cn + "\x00" + strings.Join(dns, ",") + "\x00" + strings.Join(ips, ",")
}

// netIPs returns the IP SANs in the form x509 templates take.
func (n leafNames) netIPs() []net.IP {
	ips := make([]net.IP, len(n.ips))
	for i, ip := range n.ips {
		ips[i] = ip.AsSlice()
	}
	return ips
}

// isHostname reports whether s looks like a DNS name (optionally a wildcard one) that
// may go into a dNSName SAN: non-empty, at most 253 bytes, letters, digits, '-', '_',
// '.' and a leading "*.", and not an IP literal.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	s = strings.TrimPrefix(s, "*.")
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return !strings.Contains(s, "..") && !strings.HasPrefix(s, ".")
}
