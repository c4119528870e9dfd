package config

import "net/netip"

// Match returns the service for a connection from client to server: the first service
// whose client networks, server networks and server ports all match, else the default
// service. IPv4-mapped IPv6 addresses are matched as IPv4. ok is false when no service
// applies and the connection must be refused (421).
func (c *Config) Match(client, server netip.AddrPort) (s *Service, ok bool) {
	ca, sa := client.Addr().Unmap(), server.Addr().Unmap()
	for i := range c.Services {
		s := &c.Services[i]
		if inNets(s.ClientNets, ca) && inNets(s.ServerNets, sa) && inPorts(s.ServerPorts, server.Port()) {
			return s, true
		}
	}
	if c.DefaultService != "" {
		for i := range c.Services {
			if c.Services[i].Name == c.DefaultService {
				return &c.Services[i], true
			}
		}
	}
	return nil, false
}

// inNets reports whether a falls in one of nets.
func inNets(nets []netip.Prefix, a netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// inPorts reports whether port is in one of ranges.
func inPorts(ranges []PortRange, port uint16) bool {
	for _, r := range ranges {
		if r.Contains(port) {
			return true
		}
	}
	return false
}
