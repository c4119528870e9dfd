package ftptls

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMinterHandshake checks that a client trusting only the test CA accepts the minted
// certificate, and that the certificate carries the expected names.
func TestMinterHandshake(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	m, err := NewMinter(ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	upstream := selfSigned(t, leafSpec{cn: "ftp.example", dns: []string{"ftp.example", "files.example"}}).Leaf
	tests := []struct {
		name       string
		upstream   *x509.Certificate
		serverName string // what the client dials: SNI for DNS names, nothing for IPs
		wantCN     string
		wantDNS    []string
		wantIPs    []string
	}{
		{"upstream names copied", upstream, "files.example", "ftp.example", []string{"ftp.example", "files.example"}, nil},
		{"SNI only", nil, "sni.example", "sni.example", []string{"sni.example"}, nil},
		{"IP only", nil, "127.0.0.1", "127.0.0.1", nil, []string{"127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ServerConfig(m, netip.MustParseAddr("127.0.0.1"), func() *x509.Certificate { return tt.upstream })
			addr := startTLSServer(t, "tcp4", cfg)
			for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
				cs, err := handshake(t, addr, &tls.Config{RootCAs: ca.pool(), ServerName: tt.serverName, MaxVersion: version})
				if err != nil {
					t.Fatalf("version %x: client rejected the minted certificate: %v", version, err)
				}
				leaf := cs.PeerCertificates[0]
				var ips []string
				for _, ip := range leaf.IPAddresses {
					ips = append(ips, ip.String())
				}
				if leaf.Subject.CommonName != tt.wantCN || !slices.Equal(leaf.DNSNames, tt.wantDNS) || !slices.Equal(ips, tt.wantIPs) {
					t.Errorf("minted CN %q DNS %v IPs %v; want %q %v %v", leaf.Subject.CommonName, leaf.DNSNames, ips, tt.wantCN, tt.wantDNS, tt.wantIPs)
				}
				if len(cs.VerifiedChains) == 0 || !cs.VerifiedChains[0][len(cs.VerifiedChains[0])-1].Equal(ca.cert) {
					t.Errorf("chain does not end at the test CA")
				}
			}
		})
	}
}

// TestMinterCertificate checks the minted certificate itself: chain, key, validity.
func TestMinterCertificate(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	m, err := NewMinter(ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name        string
		upstreamEnd time.Time // zero: no upstream certificate
	}{
		{"no upstream", time.Time{}},
		{"upstream outlives 30 days", now.Add(365 * 24 * time.Hour)},
		{"upstream expires in 2 days", now.Add(48 * time.Hour)},
		{"upstream expires in 10 minutes", now.Add(10 * time.Minute)},
		{"upstream expired", now.Add(-24 * time.Hour)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var up *x509.Certificate
			if !tt.upstreamEnd.IsZero() {
				up = selfSigned(t, leafSpec{dns: []string{fmt.Sprintf("host%d.example", i)},
					notBefore: tt.upstreamEnd.Add(-72 * time.Hour), notAfter: tt.upstreamEnd}).Leaf
			}
			cert, err := m.ForServer(netip.MustParseAddr("192.0.2.1"), "", up)
			if err != nil {
				t.Fatal(err)
			}
			leaf := cert.Leaf
			if len(cert.Certificate) != 2 || !slices.Equal(cert.Certificate[1], ca.cert.Raw) {
				t.Errorf("chain has %d certificates, want leaf and CA", len(cert.Certificate))
			}
			if err := leaf.CheckSignatureFrom(ca.cert); err != nil {
				t.Errorf("minted certificate not signed by the CA: %v", err)
			}
			// An expired upstream gives an expired leaf; any other verifies now.
			_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if wantValid := up == nil || up.NotAfter.After(time.Now()); (err == nil) != wantValid {
				t.Errorf("minted certificate verifies to the CA: %v, want %v", err, wantValid)
			}
			if leaf.PublicKeyAlgorithm != x509.ECDSA || leaf.IsCA {
				t.Errorf("leaf key %v, IsCA %v; want ECDSA, false", leaf.PublicKeyAlgorithm, leaf.IsCA)
			}
			if up != nil && leaf.NotAfter.After(up.NotAfter) {
				t.Errorf("minted NotAfter %v exceeds the upstream's %v", leaf.NotAfter, up.NotAfter)
			}
			if leaf.NotAfter.After(time.Now().Add(maxLeafLifetime)) || !leaf.NotBefore.Before(leaf.NotAfter) {
				t.Errorf("validity %v .. %v out of bounds", leaf.NotBefore, leaf.NotAfter)
			}
		})
	}
}

// TestMinterCache checks that certificates are cached by their names.
func TestMinterCache(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	m, err := NewMinter(ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.1")
	longUp := selfSigned(t, leafSpec{cn: "a", dns: []string{"a.example", "b.example"}}).Leaf
	reordered := selfSigned(t, leafSpec{cn: "a", dns: []string{"b.example", "a.example"}}).Leaf
	shortUp := selfSigned(t, leafSpec{cn: "a", dns: []string{"a.example", "b.example"}, notAfter: time.Now().Add(48 * time.Hour)}).Leaf

	mint := func(server netip.Addr, sni string, up *x509.Certificate) *tls.Certificate {
		t.Helper()
		cert, err := m.ForServer(server, sni, up)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	first := mint(addr, "", longUp)
	tests := []struct {
		name     string
		cert     *tls.Certificate
		wantSame bool
	}{
		{"same upstream", mint(addr, "", longUp), true},
		{"same names in another order, other server and SNI", mint(netip.MustParseAddr("192.0.2.2"), "x.example", reordered), true},
		{"same names, upstream expiring sooner", mint(addr, "", shortUp), false},
		{"SNI", mint(addr, "a.example", nil), false},
		{"IP", mint(addr, "", nil), false},
	}
	for _, tt := range tests {
		if same := tt.cert == first; same != tt.wantSame {
			t.Errorf("%s: same certificate %v, want %v", tt.name, same, tt.wantSame)
		}
	}
	if again := mint(addr, "a.example", nil); again != mint(addr, "a.example", nil) {
		t.Error("SNI certificate not cached")
	}
}

// TestMinterConcurrent mints for a few names from many goroutines (run with -race): every
// caller gets the one cached certificate for its names.
func TestMinterConcurrent(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	m, err := NewMinter(ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	const names, callers = 4, 8
	got := make([][]*tls.Certificate, names)
	errs := make(chan error, names*callers)
	var wg sync.WaitGroup
	for n := range names {
		got[n] = make([]*tls.Certificate, callers)
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cert, err := m.ForServer(netip.Addr{}, fmt.Sprintf("host%d.example", n), nil)
				if err != nil {
					errs <- err
					return
				}
				got[n][c] = cert
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for n := range names {
		for c := range callers {
			if got[n][c] != got[n][0] {
				t.Errorf("name %d caller %d got a different certificate", n, c)
			}
		}
	}
}

// TestNewMinterErrors checks the CA certificates and keys NewMinter refuses.
func TestNewMinterErrors(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	other := newTestCA(t, "other CA")
	leaf := ca.issue(t, leafSpec{cn: "leaf"})
	tests := []struct {
		name    string
		ca      *x509.Certificate
		key     crypto.Signer
		wantErr string
	}{
		{"no certificate", nil, ca.key, "no CA certificate"},
		{"no key", ca.cert, nil, "no CA private key"},
		{"not a CA", leaf.Leaf, leaf.PrivateKey.(crypto.Signer), "is not a CA"},
		{"key mismatch", ca.cert, other.key, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMinter(tt.ca, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "ftptls: ") {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
