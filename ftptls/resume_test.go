package ftptls

import (
	"crypto/tls"
	"net/netip"
	"testing"
)

// TestClientResumption proves the data-connection reuse mechanism of a server leg: with
// one session cache and the same name, a second connection resumes the first one's TLS
// session (TLS 1.2 and 1.3, every mode that can reach a test-CA server); with another
// name or another cache it does not.
func TestClientResumption(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	caFile := writePEM(t, t.TempDir(), "ca.pem", certBlock(ca.cert))
	cert := ca.issue(t, leafSpec{cn: "ftp.test", dns: []string{"localhost"}, ips: []string{"127.0.0.1"}})

	verifies := map[string]Verify{
		"ca":       {Mode: "ca", CAFile: caFile},
		"pin":      {Mode: "pin", Pins: []string{PinOf(cert.Leaf)}},
		"insecure": {Mode: "insecure"},
	}
	versions := map[string]uint16{"TLS1.2": tls.VersionTLS12, "TLS1.3": tls.VersionTLS13}
	tests := []struct {
		name        string
		firstName   string
		secondName  string
		sharedCache bool
		wantResume  bool
	}{
		{"same name and cache", "127.0.0.1", "127.0.0.1", true, true},
		{"same DNS name and cache", "localhost", "localhost", true, true},
		{"different names", "127.0.0.1", "localhost", true, false},
		{"different caches", "127.0.0.1", "127.0.0.1", false, false},
	}
	for vname, version := range versions {
		// The server keeps its default session tickets; MaxVersion pins the protocol.
		addr := startTLSServer(t, "tcp4", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: version})
		for mode, verify := range verifies {
			for _, tt := range tests {
				t.Run(vname+"/"+mode+"/"+tt.name, func(t *testing.T) {
					cache := tls.NewLRUClientSessionCache(8)
					first := connectLeg(t, addr, verify, tt.firstName, cache)
					if first.DidResume {
						t.Fatal("first connection resumed from an empty cache")
					}
					if v, _ := Describe(first); v != vname {
						t.Fatalf("negotiated %s, want %s", v, vname)
					}
					if !tt.sharedCache {
						cache = tls.NewLRUClientSessionCache(8)
					}
					second := connectLeg(t, addr, verify, tt.secondName, cache)
					if second.DidResume != tt.wantResume {
						t.Fatalf("second connection DidResume = %v, want %v", second.DidResume, tt.wantResume)
					}
				})
			}
		}
	}
}

// connectLeg makes one server-leg connection as ftpgate would.
func connectLeg(t *testing.T, addr string, v Verify, name string, cache tls.ClientSessionCache) tls.ConnectionState {
	t.Helper()
	cfg, err := v.ClientConfig(name, cache)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := handshake(t, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestResumedSessionStillPinned checks that a resumed session is verified again: a
// session cached under one pin set is refused by a config whose pins do not match.
func TestResumedSessionStillPinned(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	cert := ca.issue(t, leafSpec{cn: "ftp.test", ips: []string{"127.0.0.1"}})
	other := selfSigned(t, leafSpec{cn: "other"})
	addr := startTLSServer(t, "tcp4", &tls.Config{Certificates: []tls.Certificate{cert}})
	cache := tls.NewLRUClientSessionCache(8)

	connectLeg(t, addr, Verify{Mode: "insecure"}, "127.0.0.1", cache)
	cfg, err := Verify{Mode: "pin", Pins: []string{PinOf(other.Leaf)}}.ClientConfig("127.0.0.1", cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, addr, cfg); Reason(err) != ReasonPinMismatch {
		t.Fatalf("resumption with a non-matching pin: error %v, want a pin mismatch", err)
	}
}

// TestServerResumption checks the client leg: a client resumes its session on a second
// connection served from the same ServerConfig or a Clone of it, not from another one.
func TestServerResumption(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	m, err := NewMinter(ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddr("127.0.0.1")
	for vname, version := range map[string]uint16{"TLS1.2": tls.VersionTLS12, "TLS1.3": tls.VersionTLS13} {
		tests := []struct {
			name       string
			second     func(*tls.Config) *tls.Config
			wantResume bool
		}{
			{"same config", func(c *tls.Config) *tls.Config { return c }, true},
			{"clone", func(c *tls.Config) *tls.Config { return c.Clone() }, true},
			{"another config", func(*tls.Config) *tls.Config { return ServerConfig(m, server, nil) }, false},
		}
		for _, tt := range tests {
			t.Run(vname+"/"+tt.name, func(t *testing.T) {
				control := ServerConfig(m, server, nil)
				data := tt.second(control)
				client := &tls.Config{RootCAs: ca.pool(), ServerName: "127.0.0.1",
					ClientSessionCache: tls.NewLRUClientSessionCache(8), MaxVersion: version}

				first, err := handshake(t, startTLSServer(t, "tcp4", control), client)
				if err != nil {
					t.Fatal(err)
				}
				second, err := handshake(t, startTLSServer(t, "tcp4", data), client)
				if err != nil {
					t.Fatal(err)
				}
				if first.DidResume || second.DidResume != tt.wantResume {
					t.Fatalf("DidResume first %v, second %v; want false, %v", first.DidResume, second.DidResume, tt.wantResume)
				}
			})
		}
	}
}
