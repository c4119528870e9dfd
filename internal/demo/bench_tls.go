package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// ftpsSetup is what the FTPS rows need: a CA for vsftpd's certificate, another for the
// gateway's static certificate toward clients, and the gateway configuration.
type ftpsSetup struct {
	serverPKI, gwPKI  *testbed.PKI
	vsftpdCert, vsKey string
	config            string // the gateway's configuration file with the tls: block
}

// newFTPSSetup creates both PKIs and the certificates (both name the server's addresses, the
// ones clients connect to) below dir, and writes the gateway configuration: a static
// certificate toward clients and verify: ca toward vsftpd.
func newFTPSSetup(dir string, servers []netip.Addr) (*ftpsSetup, error) {
	s := &ftpsSetup{config: filepath.Join(dir, "ftpgate-ftps.yaml")}
	var err error
	if s.serverPKI, err = testbed.NewPKI(filepath.Join(dir, "server-pki")); err != nil {
		return nil, fmt.Errorf("FTPS setup: %w", err)
	}
	if s.gwPKI, err = testbed.NewPKI(filepath.Join(dir, "gateway-pki")); err != nil {
		return nil, fmt.Errorf("FTPS setup: %w", err)
	}
	if s.vsftpdCert, s.vsKey, err = s.serverPKI.Issue("vsftpd", nil, servers); err != nil {
		return nil, fmt.Errorf("FTPS setup: %w", err)
	}
	gwCert, gwKey, err := s.gwPKI.Issue("gateway", nil, servers)
	if err != nil {
		return nil, fmt.Errorf("FTPS setup: %w", err)
	}
	cfg := gatewayConfig("") + fmt.Sprintf("    tls:\n      certificate: {cert: %s, key: %s}\n      verify: ca\n      ca_file: %s\n",
		gwCert, gwKey, s.serverPKI.CACert)
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("FTPS setup: %w", err)
	}
	return s, nil
}

// restartVsftpdTLS stops the plain vsftpd and starts it again with explicit FTPS (TLS
// optional for clients, vsftpd's default require_ssl_reuse on), with the same root and files.
func restartVsftpdTLS(ctx context.Context, b *bed, s *ftpsSetup) error {
	if err := b.srv.Stop(); err != nil {
		return fmt.Errorf("stop plain vsftpd: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	srv, err := b.tp.StartVsftpdWith(sctx, testbed.VsftpdOptions{TLS: &testbed.TLSOptions{
		CertFile: s.vsftpdCert, KeyFile: s.vsKey, RequireReuse: true}})
	if err != nil {
		return fmt.Errorf("start vsftpd with TLS: %w", err)
	}
	b.srv = srv
	return nil
}

// clientTLS is the Go client's TLS configuration trusting the CA in caFile for the server
// address (the certificates carry it as an IP SAN).
func clientTLS(caFile string, server netip.Addr) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client TLS: no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: server.String(), MinVersion: tls.VersionTLS12}, nil
}

// gatewayConfig is the gateway configuration of the bench: one service for everything with
// a readwrite policy, plus "data_path: PATH" when path is set. Further policy keys may be
// appended (indented four spaces).
func gatewayConfig(path string) string {
	cfg := "version: 1\nservices:\n  - name: all\n    policy: p\npolicies:\n  p:\n    base: readwrite\n"
	if path != "" {
		cfg += "    data_path: " + path + "\n"
	}
	return cfg
}
