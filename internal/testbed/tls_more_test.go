package testbed_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

func TestPureFTPdTLS(t *testing.T) {
	b := newTLSBed(t, "curl", "lftp", "python3")
	ctx := tlsCtx(t)
	srv, err := b.tp.StartPureFTPd(ctx, testbed.PureOptions{TLS: &testbed.TLSOptions{CertFile: b.cert, KeyFile: b.key}})
	if errors.Is(err, testbed.ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want, err := srv.MakeFile("file", 1<<20+9)
	if err != nil {
		t.Fatal(err)
	}
	b.clientsTLS(t, ctx, srv, want, false)
	// pure-ftpd resumes an offered session on data connections in TLS 1.2
	// (session IDs) but never in TLS 1.3, and does not require it.
	t.Run("resumption", func(t *testing.T) {
		for _, tlsMax := range []string{"1.2", "1.3"} {
			dst := filepath.Join(b.out, "resume"+tlsMax)
			res, err := scenario.PyTLS(ctx, b.tp, srv, b.tp.ServerV4, scenario.EPSV, scenario.PyTLSOptions{Reuse: true, TLSMax: tlsMax}, "get:file:"+dst)
			if err != nil {
				t.Fatalf("%v\n%s", err, res.Transcript)
			}
			t.Logf("TLS %s (%s): data sessions reused %v", tlsMax, res.Version, res.DataReused)
			if res.Version != "TLSv"+tlsMax || len(res.DataReused) != 1 || res.DataReused[0] != (tlsMax == "1.2") {
				t.Errorf("TLS %s: version %s, data sessions reused %v", tlsMax, res.Version, res.DataReused)
			}
			sumOf(t, dst, want)
		}
	})
	t.Run("no-reuse-accepted", func(t *testing.T) {
		dst := filepath.Join(b.out, "noreuse")
		res, err := scenario.PyTLS(ctx, b.tp, srv, b.tp.ServerV4, scenario.EPSV, scenario.PyTLSOptions{}, "get:file:"+dst)
		if err != nil {
			t.Fatalf("%v\n%s", err, res.Transcript)
		}
		if len(res.DataReused) != 1 || res.DataReused[0] {
			t.Errorf("data sessions reused: %v", res.DataReused)
		}
		sumOf(t, dst, want)
	})
	t.Run("verify", func(t *testing.T) {
		dst := filepath.Join(b.out, "verify")
		tr, err := scenario.CurlTLSVerify(ctx, b.tp, scenario.PASV, b.pki.CACert, "-o", dst, scenario.URL(srv, b.tp.ServerV4, "file"))
		if err != nil {
			t.Fatalf("%v\n%s", err, tr)
		}
		if s, i := scenario.CertNames(tr); s != "O=ftpgate testbed; CN=ftpserver" || i != "O=ftpgate testbed; CN="+b.pki.CAName {
			t.Errorf("curl saw subject %q issuer %q", s, i)
		}
		if tr, err := scenario.LftpTLSVerify(ctx, b.tp, srv, b.tp.ServerV6, scenario.EPSV, b.pki.CACert, "get file -o "+dst+"-lftp"); err != nil {
			t.Fatalf("%v\n%s", err, tr)
		}
		sumOf(t, dst+"-lftp", want)
	})
	if err := srv.Stop(); err != nil {
		t.Errorf("stop pure-ftpd: %v", err)
	}
}

// TestVsftpdTLSForcedSelfSigned: ForceTLS refuses plain logins; a
// self-signed certificate fails verification against the test CA in every
// client and works without verification.
func TestVsftpdTLSForcedSelfSigned(t *testing.T) {
	b := newTLSBed(t, "vsftpd", "curl", "lftp", "python3")
	ctx := tlsCtx(t)
	cert, key, err := testbed.SelfSigned(filepath.Join(b.tp.Dir, "self"), "selfsigned", []netip.Addr{b.tp.ServerV4, b.tp.ServerV6})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := b.tp.StartVsftpdWith(ctx, testbed.VsftpdOptions{TLS: &testbed.TLSOptions{
		CertFile: cert, KeyFile: key, RequireReuse: true, ForceTLS: true}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := srv.MakeFile("file", 4321)
	if err != nil {
		t.Fatal(err)
	}
	url := scenario.URL(srv, b.tp.ServerV4, "file")
	dst := filepath.Join(b.out, "f")
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, url); err == nil || !strings.Contains(tr, "< 530 Non-anonymous sessions must use encryption.") {
		t.Errorf("plain login: err %v\n%s", err, tr)
	}
	tr, err := scenario.CurlTLS(ctx, b.tp, scenario.EPSV, "-o", dst, url)
	if err != nil {
		t.Fatalf("%v\n%s", err, tr)
	}
	sumOf(t, dst, want)
	if s, i := scenario.CertNames(tr); s != "O=ftpgate testbed; CN=selfsigned" || i != s {
		t.Errorf("curl saw subject %q issuer %q", s, i)
	}
	if tr, err := scenario.CurlTLSVerify(ctx, b.tp, scenario.EPSV, b.pki.CACert, "-o", dst, url); err == nil || !strings.Contains(tr, "self-signed certificate") {
		t.Errorf("curl --cacert accepted a self-signed certificate: %v\n%s", err, tr)
	}
	if tr, err := scenario.LftpTLSVerify(ctx, b.tp, srv, b.tp.ServerV4, scenario.EPSV, b.pki.CACert, "get file -o "+dst+"-lftp"); err == nil || !strings.Contains(tr, "Certificate verification") {
		t.Errorf("lftp ssl:ca-file accepted a self-signed certificate: %v\n%s", err, tr)
	}
	if res, err := scenario.PyTLS(ctx, b.tp, srv, b.tp.ServerV4, scenario.EPSV, scenario.PyTLSOptions{Reuse: true, CAFile: b.pki.CACert}, "list"); err == nil || !strings.Contains(res.Transcript, "CERTIFICATE_VERIFY_FAILED") {
		t.Errorf("python cafile accepted a self-signed certificate: %v\n%s", err, res.Transcript)
	}
}
