package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"os"
	"testing"
)

func TestPKI(t *testing.T) {
	dir := t.TempDir()
	p, err := NewPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.2")
	certFile, keyFile, err := p.Issue("server", []string{"ftp.example"}, []netip.Addr{ip, netip.MustParseAddr("2001:db8:2::2")})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(CombinedPEM(certFile), CombinedPEM(certFile)); err != nil {
		t.Errorf("combined PEM: %v", err)
	}
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM not parsed")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"203.0.113.2", "2001:db8:2::2", "ftp.example"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	if leaf.Issuer.CommonName != p.CAName {
		t.Errorf("issuer %q, want %q", leaf.Issuer.CommonName, p.CAName)
	}
	ssCert, _, err := SelfSigned(dir, "self", []netip.Addr{ip})
	if err != nil {
		t.Fatal(err)
	}
	ssPair, err := tls.LoadX509KeyPair(ssCert, CombinedPEM(ssCert))
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := x509.ParseCertificate(ssPair.Certificate[0])
	if _, err := ss.Verify(x509.VerifyOptions{Roots: roots, DNSName: "203.0.113.2"}); err == nil {
		t.Error("self-signed certificate verified against the test CA")
	}
	if ss.Issuer.CommonName != "self" || ss.IsCA {
		t.Errorf("self-signed: issuer %q IsCA %v", ss.Issuer.CommonName, ss.IsCA)
	}
	if _, _, err := p.Issue("../x", nil, nil); err == nil {
		t.Error("path name accepted")
	}
}
