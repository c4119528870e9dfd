package ftptls

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// ClientConfig returns the tls.Config for a server leg, where ftpgate is the TLS client:
// TLS 1.2 and 1.3, ServerName = name and ClientSessionCache = cache.
//
// name is the server's DNS name or IP literal. It is sent as SNI when it is a DNS name,
// checked against the certificate in modes system and ca (an IP literal against the IP
// SANs), and it keys the session cache: the control and data connections of one FTP
// session must use the same name and the same cache (one tls.NewLRUClientSessionCache
// per session, the caller's) so the data connections resume the control connection's
// TLS session, as servers with vsftpd's require_ssl_reuse demand.
//
// Verification per mode:
//   - system: the chain to the system roots, name and validity period checked;
//   - ca: the chain to the roots of CAFile only, name and validity period checked;
//   - pin: no chain, name or expiry check, but the leaf's SPKI SHA-256 must match a pin;
//   - insecure: anything, self-signed included.
//
// The checks run in tls.Config.VerifyConnection (with InsecureSkipVerify set, so the
// built-in check does not run first), which also runs on resumed sessions. A failed
// check fails the handshake with a [*VerifyError] whose text says why, e.g.
// "ftptls: verify server 192.0.2.1: unknown authority: x509: certificate signed by
// unknown authority"; [Reason] extracts the short reason for a reply.
//
// ClientConfig reads CAFile on every call.
func (v Verify) ClientConfig(name string, cache tls.ClientSessionCache) (*tls.Config, error) {
	if name == "" {
		return nil, errors.New("ftptls: client config: empty server name")
	}
	c, err := v.compile()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		MaxVersion: tls.VersionTLS13,
		// Full-size records from the first byte: a data connection is bulk, and Go's
		// dynamic sizing would send its first megabyte in records of one TCP segment.
		DynamicRecordSizingDisabled: true,
		ServerName:                  name,
		ClientSessionCache:          cache,
		InsecureSkipVerify:          true, // replaced by VerifyConnection below
	}
	switch c.mode {
	case ModeSystem, ModeCA:
		roots := c.roots // nil: the system roots
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(name, roots, cs.PeerCertificates)
		}
	case ModePin:
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return c.checkPins(name, cs.PeerCertificates)
		}
	}
	return cfg, nil
}

// verifyChain checks that chain (leaf first, as the server sent it) leads to roots, is
// valid now, may be used for server authentication and names name.
func verifyChain(name string, roots *x509.CertPool, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return &VerifyError{Name: name, Reason: ReasonNoCertificate, Err: errors.New("server sent no certificate")}
	}
	opts := x509.VerifyOptions{
		DNSName:       name,
		Roots:         roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, cert := range chain[1:] {
		opts.Intermediates.AddCert(cert)
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return &VerifyError{Name: name, Reason: classify(err), Err: err}
	}
	return nil
}

// checkPins returns nil when the leaf of chain matches a pin, else a *VerifyError.
func (c compiled) checkPins(name string, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return &VerifyError{Name: name, Reason: ReasonNoCertificate, Err: errors.New("server sent no certificate")}
	}
	sum := sha256.Sum256(chain[0].RawSubjectPublicKeyInfo)
	if slices.Contains(c.pins, sum) {
		return nil
	}
	return &VerifyError{Name: name, Reason: ReasonPinMismatch,
		Err: fmt.Errorf("server public key %s matches none of the %d configured pins", PinOf(chain[0]), len(c.pins))}
}
