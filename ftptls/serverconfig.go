package ftptls

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
)

// ServerConfig returns the tls.Config for a client leg, where ftpgate is the TLS server:
// TLS 1.2 and 1.3, the certificate chosen by certs for server (the original destination),
// the SNI the client sends and the upstream server's leaf certificate, which upstream
// returns at handshake time (upstream may be nil, and may return nil when the upstream
// certificate is unknown, e.g. for a plain server leg).
//
// Session tickets are on, with a random ticket key fixed for the config and its clones,
// so a client resumes its control connection's session on a data connection when both
// are served from this config or a Clone of it. Build one config per FTP session.
func ServerConfig(certs Certs, server netip.Addr, upstream func() *x509.Certificate) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		MaxVersion: tls.VersionTLS13,
		// Full-size records from the first byte: a data connection is bulk, and Go's
		// dynamic sizing would send its first megabyte in records of one TCP segment.
		DynamicRecordSizingDisabled: true,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			var up *x509.Certificate
			if upstream != nil {
				up = upstream()
			}
			cert, err := certs.ForServer(server, hello.ServerName, up)
			if err != nil {
				return nil, fmt.Errorf("ftptls: certificate for %s (SNI %q): %w", server, hello.ServerName, err)
			}
			return cert, nil
		},
	}
	// Explicit keys, unlike the lazily created automatic ones, are shared by Clone, so a
	// data listener may clone the session's config and still accept its tickets.
	var key [32]byte
	rand.Read(key[:]) // never fails (crypto/rand, Go 1.24+)
	cfg.SetSessionTicketKeys([][32]byte{key})
	return cfg
}
