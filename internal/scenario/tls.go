package scenario

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// curlTLSArgs are the options every FTPS curl run gets: TLS required on
// control and data (curl sends AUTH TLS, PBSZ 0 and PROT P), server
// certificate not verified unless caFile is set.
func curlTLSArgs(caFile string) []string {
	if caFile == "" {
		return []string{"--ssl-reqd", "-k"}
	}
	return []string{"--ssl-reqd", "--cacert", caFile}
}

// CurlTLS is Curl over explicit FTPS (`--ssl-reqd -k`): any server
// certificate is accepted. For implicit FTPS pass an ftps:// URL (port 990
// by default). It checks that m was used and that the control connection
// was TLS (for explicit FTPS, also that PROT P was sent). Active modes
// (PORT, EPRT) over TLS hang in curl 7.88 (curl issue 10666) until
// --max-time; pass a shorter --max-time in extra when trying them.
func CurlTLS(ctx context.Context, tp *testbed.Topology, m Mode, extra ...string) (string, error) {
	return curlTLS(ctx, tp, m, "", extra)
}

// CurlTLSVerify is CurlTLS that verifies the server certificate against
// caFile (--cacert) instead of -k; the URL's host (an IP address here) must
// be in the certificate's subject alternative names. CertNames extracts the
// certificate curl saw from the returned transcript.
func CurlTLSVerify(ctx context.Context, tp *testbed.Topology, m Mode, caFile string, extra ...string) (string, error) {
	if caFile == "" {
		return "", fmt.Errorf("scenario: curl TLS verify: no CA file")
	}
	return curlTLS(ctx, tp, m, caFile, extra)
}

// curlTLS runs Curl with the TLS options and checks the transcript.
func curlTLS(ctx context.Context, tp *testbed.Topology, m Mode, caFile string, extra []string) (string, error) {
	transcript, err := Curl(ctx, tp, m, append(curlTLSArgs(caFile), extra...)...)
	if err != nil {
		return transcript, err
	}
	if !strings.Contains(transcript, "SSL connection using") {
		return transcript, fmt.Errorf("scenario: curl did not use TLS:\n%s", transcript)
	}
	if strings.Contains(transcript, "> AUTH ") && !strings.Contains(transcript, "> PROT P") {
		return transcript, fmt.Errorf("scenario: curl did not protect the data connection:\n%s", transcript)
	}
	return transcript, nil
}

// CertNames returns the subject and issuer of the first server certificate
// in a curl -v transcript (lines "*  subject: ..." and "*  issuer: ..."),
// as curl prints them, e.g. "O=ftpgate testbed; CN=vsftpd". Missing lines
// give "". lftp 4.9.2 (GnuTLS) prints no certificate names, even with
// `debug 11`: only a failed verification is logged, with the certificate's
// SHA-1 fingerprint; use LftpTLSVerify's success or failure instead.
func CertNames(transcript string) (subject, issuer string) {
	for _, line := range strings.Split(transcript, "\n") {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		for _, p := range []struct {
			prefix string
			dst    *string
		}{{"subject:", &subject}, {"issuer:", &issuer}} {
			if *p.dst == "" && strings.HasPrefix(l, p.prefix) {
				*p.dst = strings.TrimSpace(strings.TrimPrefix(l, p.prefix))
			}
		}
		if subject != "" && issuer != "" {
			break
		}
	}
	return subject, issuer
}

// lftpTLSSettings are the lftp settings for FTPS: TLS required on the
// control connection and data connections, verification against caFile,
// or none when caFile is "".
func lftpTLSSettings(caFile string) string {
	s := "set ftp:ssl-allow yes; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ftp:ssl-protect-list yes; "
	if caFile == "" {
		return s + "set ssl:verify-certificate no; "
	}
	return s + "set ssl:verify-certificate yes; set ssl:check-hostname yes; set ssl:ca-file " + caFile + "; "
}

// LftpTLS is Lftp over explicit FTPS (AUTH TLS, PROT P) without
// certificate verification. It checks that m was used and that AUTH TLS
// and PROT P were sent. lftp (GnuTLS) resumes the control session on data
// connections (ftp:ssl-copy-sid).
func LftpTLS(ctx context.Context, tp *testbed.Topology, srv *testbed.FTPServer, addr netip.Addr, m Mode, script string) (string, error) {
	return lftpTLS(ctx, tp, srv, addr, m, "", script)
}

// LftpTLSVerify is LftpTLS that verifies the server certificate against
// caFile (ssl:ca-file, ssl:check-hostname yes). A certificate that does
// not verify fails the run ("Fatal error: Certificate verification: ..." in
// the transcript).
func LftpTLSVerify(ctx context.Context, tp *testbed.Topology, srv *testbed.FTPServer, addr netip.Addr, m Mode, caFile, script string) (string, error) {
	if caFile == "" {
		return "", fmt.Errorf("scenario: lftp TLS verify: no CA file")
	}
	return lftpTLS(ctx, tp, srv, addr, m, caFile, script)
}

// lftpTLS runs Lftp with the TLS settings before script and checks the
// transcript.
func lftpTLS(ctx context.Context, tp *testbed.Topology, srv *testbed.FTPServer, addr netip.Addr, m Mode, caFile, script string) (string, error) {
	transcript, err := Lftp(ctx, tp, srv, addr, m, lftpTLSSettings(caFile)+script)
	if err != nil {
		return transcript, err
	}
	for _, want := range []string{"---> AUTH TLS", "---> PROT P"} {
		if !strings.Contains(transcript, want) {
			return transcript, fmt.Errorf("scenario: lftp did not send %q:\n%s", want, transcript)
		}
	}
	return transcript, nil
}
