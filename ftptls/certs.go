package ftptls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
)

// Certs supplies the certificates ftpgate presents to clients.
type Certs interface {
	// ForServer returns the certificate to present to a client that connected to server
	// (the original destination), given the SNI the client sent (may be "") and, when
	// known, the upstream server's leaf certificate (may be nil).
	ForServer(server netip.Addr, sni string, upstream *x509.Certificate) (*tls.Certificate, error)
}

// static presents one certificate for every connection.
type static struct {
	cert *tls.Certificate
}

// NewStatic returns Certs that present cert for every connection, whatever the server,
// SNI or upstream certificate.
func NewStatic(cert tls.Certificate) Certs {
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
			cert.Leaf = leaf
		}
	}
	return &static{cert: &cert}
}

// LoadStatic reads a PEM certificate chain (leaf first) and its PEM private key and
// returns Certs that present them for every connection: the operator's own server
// certificate, typical for inbound gateways.
func LoadStatic(certFile, keyFile string) (Certs, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("ftptls: load certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return NewStatic(cert), nil
}

// ForServer returns the static certificate.
func (s *static) ForServer(netip.Addr, string, *x509.Certificate) (*tls.Certificate, error) {
	return s.cert, nil
}
