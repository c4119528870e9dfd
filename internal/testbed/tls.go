package testbed

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ImplicitPort is where the Start functions run implicit FTPS (TLS from the
// first byte) when TLSOptions.Implicit is set.
const ImplicitPort = 990

// TLSOptions turn on FTPS in a test server. The certificate is typically
// issued by a PKI (PKI.Issue) or made by SelfSigned.
type TLSOptions struct {
	// CertFile and KeyFile are the server's PEM certificate (chain) and
	// private key.
	CertFile, KeyFile string
	// RequireReuse makes the server refuse a TLS data connection whose
	// handshake does not resume the control connection's TLS session
	// (vsftpd require_ssl_reuse=YES, which is vsftpd's own default; the
	// zero value here turns it off). vsftpd only; pure-ftpd never checks (and
	// resumes no data session in TLS 1.3).
	RequireReuse bool
	// ForceTLS refuses logins and transfers without TLS (vsftpd
	// force_local_logins_ssl=YES and force_local_data_ssl=YES; pure-ftpd
	// -Y 2, which requires TLS on the control connection only). Without it
	// plain FTP and FTPS are both accepted.
	ForceTLS bool
	// Implicit adds implicit FTPS listeners on ImplicitPort of both server
	// addresses (vsftpd only: extra processes with implicit_ssl=YES).
	Implicit bool
}

// check reports missing certificate files.
func (o *TLSOptions) check() error {
	if o.CertFile == "" || o.KeyFile == "" {
		return errors.New("TLS needs CertFile and KeyFile")
	}
	return nil
}

// VsftpdTLSConfig is the vsftpd configuration fragment for o (also for vsftpd instances
// outside the testbed, such as make bench's session server). It replaces
// the ssl_enable=NO of vsftpdConfig (a later line wins in vsftpd).
//
// vsftpd 3.0.3 knows ssl_sslv2, ssl_sslv3 and ssl_tlsv1 only (no
// ssl_tlsv1_1/_2/_3: an unknown option stops it); TLS 1.1 to 1.3 are always
// allowed, so OpenSSL 3 negotiates TLS 1.3 unless the client caps it.
// ssl_ciphers=HIGH because vsftpd's default cipher string fails with
// OpenSSL 3. ssl_request_cert=NO: vsftpd asks for a client certificate by
// default, which lftp (GnuTLS) logs noisily. debug_ssl=YES writes the TLS
// details (and "session reuse required" refusals) to the vsftpd log.
func VsftpdTLSConfig(o *TLSOptions, implicit bool) string {
	yn := func(b bool) string {
		if b {
			return "YES"
		}
		return "NO"
	}
	return `ssl_enable=YES
rsa_cert_file=` + o.CertFile + `
rsa_private_key_file=` + o.KeyFile + `
ssl_ciphers=HIGH
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=YES
ssl_request_cert=NO
require_cert=NO
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
force_local_logins_ssl=` + yn(o.ForceTLS) + `
force_local_data_ssl=` + yn(o.ForceTLS) + `
require_ssl_reuse=` + yn(o.RequireReuse) + `
implicit_ssl=` + yn(implicit) + `
debug_ssl=YES
`
}

// waitBannerTLS is waitBanner for an implicit FTPS listener: each probe completes a TLS
// handshake (any certificate) before reading the 220 line.
func (tp *Topology) waitBannerTLS(ctx context.Context, p *Proc, ap netip.AddrPort) error {
	return tp.waitFor(ctx, p, ap, "implicit FTPS server", tp.bannerTLS)
}

// bannerTLS connects to ap from the server namespace over TLS and reads the
// first line.
func (tp *Topology) bannerTLS(ctx context.Context, ap netip.AddrPort) (string, error) {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := tp.DialContext(dctx, tp.Server, "tcp", ap.String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true}) // readiness probe only
	line, err := bufio.NewReader(tc).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read TLS banner: %w", err)
	}
	_, _ = tc.Write([]byte("QUIT\r\n"))
	return strings.TrimRight(line, "\r\n"), nil
}
