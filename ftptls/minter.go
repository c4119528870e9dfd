package ftptls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"sync"
	"time"
)

const (
	// maxLeafLifetime bounds the validity of a minted certificate.
	maxLeafLifetime = 30 * 24 * time.Hour
	// backdate is how far before now a minted certificate becomes valid, for clock skew.
	backdate = time.Hour
	// renewBefore is how long before its expiry a cached certificate is replaced, unless
	// the upstream certificate's own expiry limits it.
	renewBefore = time.Hour
)

// Minter mints leaf certificates signed by a local CA, one per set of server names.
//
// A minted certificate copies the upstream certificate's subject CN and DNS/IP SANs when
// the upstream certificate is known, else carries the SNI as a DNS name, else the server
// address as an IP SAN. Its key is a fresh ECDSA P-256 key; it is valid from an hour ago
// until the earliest of the upstream certificate's NotAfter, 30 days from now and the CA's
// NotAfter. Certificates are cached by their names, at most [DefaultCacheSize] of them,
// least recently used first out. The chain returned includes the CA certificate.
//
// A Minter is safe for concurrent use.
type Minter struct {
	ca  *x509.Certificate
	key crypto.Signer
	now func() time.Time

	mu    sync.Mutex
	cache *mintCache
}

// NewMinter returns a Minter for the CA certificate ca and its private key.
func NewMinter(ca *x509.Certificate, key crypto.Signer) (*Minter, error) {
	switch {
	case ca == nil:
		return nil, errors.New("ftptls: minter: no CA certificate")
	case key == nil:
		return nil, errors.New("ftptls: minter: no CA private key")
	case !ca.BasicConstraintsValid || !ca.IsCA:
		return nil, fmt.Errorf("ftptls: minter: certificate %q is not a CA (basic constraints CA:TRUE missing)", ca.Subject)
	case ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, fmt.Errorf("ftptls: minter: CA %q lacks the certSign key usage", ca.Subject)
	case !samePublicKey(key.Public(), ca.PublicKey):
		return nil, fmt.Errorf("ftptls: minter: private key does not match CA certificate %q", ca.Subject)
	}
	return &Minter{ca: ca, key: key, now: time.Now, cache: newMintCache(DefaultCacheSize)}, nil
}

// LoadMinter reads a PEM CA certificate and its PEM private key (RSA or ECDSA, in
// PKCS#1, SEC1 or PKCS#8 form) and returns a Minter for them.
func LoadMinter(caCertFile, caKeyFile string) (*Minter, error) {
	certs, err := readCertificates(caCertFile)
	if err != nil {
		return nil, fmt.Errorf("ftptls: load CA: %w", err)
	}
	key, err := readPrivateKey(caKeyFile)
	if err != nil {
		return nil, fmt.Errorf("ftptls: load CA key: %w", err)
	}
	m, err := NewMinter(certs[0], key)
	if err != nil {
		return nil, fmt.Errorf("ftptls: load CA %s: %w", caCertFile, err)
	}
	return m, nil
}

// ForServer returns a certificate for server, signed by the CA, named after upstream,
// sni or server (see [Minter]).
func (m *Minter) ForServer(server netip.Addr, sni string, upstream *x509.Certificate) (*tls.Certificate, error) {
	names, err := namesFor(server, sni, upstream)
	if err != nil {
		return nil, err
	}
	now := m.now()
	notAfter := m.notAfter(now, upstream)
	key := names.key()

	m.mu.Lock()
	cached, ok := m.cache.get(key)
	m.mu.Unlock()
	if ok && reusable(cached, now, notAfter) {
		return cached, nil
	}

	cert, err := m.mint(names, now, notAfter)
	if err != nil {
		return nil, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	// Another goroutine may have minted for the same names meanwhile; keep one.
	if cached, ok := m.cache.get(key); ok && reusable(cached, now, notAfter) {
		return cached, nil
	}
	m.cache.put(key, cert)
	return cert, nil
}

// notAfter returns the expiry of a certificate minted now for upstream, truncated to
// the second as certificates encode it.
func (m *Minter) notAfter(now time.Time, upstream *x509.Certificate) time.Time {
	t := now.Add(maxLeafLifetime)
	if upstream != nil && upstream.NotAfter.Before(t) {
		t = upstream.NotAfter
	}
	if m.ca.NotAfter.Before(t) {
		t = m.ca.NotAfter
	}
	return t.UTC().Truncate(time.Second)
}

// reusable reports whether a cached certificate may be returned instead of one expiring
// at notAfter: it must not outlive notAfter, and must either expire exactly then (the
// limit is the upstream's) or still have renewBefore to run.
func reusable(cert *tls.Certificate, now, notAfter time.Time) bool {
	na := cert.Leaf.NotAfter
	return !na.After(notAfter) && (na.Equal(notAfter) || now.Add(renewBefore).Before(na))
}

// mint creates and signs a leaf certificate for names.
func (m *Minter) mint(names leafNames, now, notAfter time.Time) (*tls.Certificate, error) {
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ftptls: mint: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("ftptls: mint: serial number: %w", err)
	}
	notBefore := now.Add(-backdate)
	if notBefore.After(notAfter) { // an expired upstream: mirror it, keep the order sane
		notBefore = notAfter.Add(-backdate)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names.cn},
		DNSNames:              names.dns,
		IPAddresses:           names.netIPs(),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, m.ca, &leafKey.PublicKey, m.key)
	if err != nil {
		return nil, fmt.Errorf("ftptls: mint certificate for %q: %w", names.cn, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ftptls: mint: parse minted certificate: %w", err)
	}
	return &tls.Certificate{
		Certificate: [][]byte{der, m.ca.Raw},
		PrivateKey:  leafKey,
		Leaf:        leaf,
	}, nil
}
