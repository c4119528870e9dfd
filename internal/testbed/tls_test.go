package testbed_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// tlsBed is a forwarding topology (no gateway) with a test PKI and a
// server certificate for the server's two addresses.
type tlsBed struct {
	tp             *testbed.Topology
	pki            *testbed.PKI
	cert, key, out string
}

// newTLSBed skips when a tool is missing and builds the topology and PKI.
func newTLSBed(t *testing.T, tools ...string) *tlsBed {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("testbed: %s not installed", tool)
		}
	}
	tp := testbed.New(t, testbed.Options{Forward: true})
	pki, err := testbed.NewPKI(filepath.Join(tp.Dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := pki.Issue("ftpserver", []string{"ftp.test"}, []netip.Addr{tp.ServerV4, tp.ServerV6})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tp.Dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tlsBed{tp: tp, pki: pki, cert: cert, key: key, out: out}
}

// sumOf fails the test unless path has SHA-256 want.
func sumOf(t *testing.T, path, want string) {
	t.Helper()
	got, err := testbed.SHA256File(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s: sha256 %s, want %s", path, got, want)
	}
}

// tlsCtx bounds one TLS test.
func tlsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// families are the server's addresses with the modes each client can use.
func families(tp *testbed.Topology) []struct {
	name string
	addr netip.Addr
} {
	return []struct {
		name string
		addr netip.Addr
	}{{"v4", tp.ServerV4}, {"v6", tp.ServerV6}}
}

// clientsTLS runs every FTPS client that can against srv in every mode of
// both families, downloading "file" (want) and uploading a new file each
// time, comparing SHA-256 sums. curl is run in passive modes only (its
// active FTPS hangs, curl issue 10666). Python offers the control TLS
// session on its data connections; resumed says whether the server
// resumes it (vsftpd does; pure-ftpd does not in TLS 1.3, which all
// clients negotiate here).
func (b *tlsBed) clientsTLS(t *testing.T, ctx context.Context, srv *testbed.FTPServer, want string, resumed bool) {
	up := filepath.Join(b.out, "up")
	upSum, err := testbed.MakeFile(up, 300_001)
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families(b.tp) {
		for _, m := range scenario.Modes(fam.addr.Is6()) {
			tag := fam.name + "-" + string(m)
			if m == scenario.PASV || m == scenario.EPSV {
				t.Run("curl/"+tag, func(t *testing.T) {
					dst := filepath.Join(b.out, "curl-"+tag)
					if tr, err := scenario.CurlTLS(ctx, b.tp, m, "-o", dst, scenario.URL(srv, fam.addr, "file")); err != nil {
						t.Fatalf("%v\n%s", err, tr)
					}
					sumOf(t, dst, want)
					if tr, err := curlUpload(t, ctx, b.tp, m, up, scenario.URL(srv, fam.addr, "curl-"+tag)); err != nil {
						t.Fatalf("%v\n%s", err, tr)
					}
					sumOf(t, filepath.Join(srv.Root, "curl-"+tag), upSum)
				})
			}
			if !(fam.addr.Is4() && m == scenario.EPRT) { // lftp sends no EPRT on IPv4
				t.Run("lftp/"+tag, func(t *testing.T) {
					dst := filepath.Join(b.out, "lftp-"+tag)
					script := "get file -o " + dst + "; put " + up + " -o lftp-" + tag + "; cls -1"
					if tr, err := scenario.LftpTLS(ctx, b.tp, srv, fam.addr, m, script); err != nil {
						t.Fatalf("%v\n%s", err, tr)
					}
					sumOf(t, dst, want)
					sumOf(t, filepath.Join(srv.Root, "lftp-"+tag), upSum)
				})
			}
			t.Run("python/"+tag, func(t *testing.T) {
				dst := filepath.Join(b.out, "py-"+tag)
				res, err := scenario.PyTLS(ctx, b.tp, srv, fam.addr, m, scenario.PyTLSOptions{Reuse: true},
					"get:file:"+dst, "put:"+up+":py-"+tag, "list")
				if err != nil {
					t.Fatalf("%v\n%s", err, res.Transcript)
				}
				if r := res.DataReused; len(r) != 3 || r[0] != resumed || r[1] != resumed || r[2] != resumed {
					t.Errorf("data sessions reused: %v, want all %v\n%s", r, resumed, res.Stdout)
				}
				sumOf(t, dst, want)
				sumOf(t, filepath.Join(srv.Root, "py-"+tag), upSum)
			})
		}
	}
}

func TestVsftpdTLS(t *testing.T) {
	b := newTLSBed(t, "vsftpd", "curl", "lftp", "python3")
	ctx := tlsCtx(t)
	srv, err := b.tp.StartVsftpdWith(ctx, testbed.VsftpdOptions{TLS: &testbed.TLSOptions{
		CertFile: b.cert, KeyFile: b.key, RequireReuse: true, Implicit: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Procs) != 4 {
		t.Fatalf("%d vsftpd processes, want 4 (explicit and implicit, v4 and v6)", len(srv.Procs))
	}
	want, err := srv.MakeFile("file", 1<<20+5)
	if err != nil {
		t.Fatal(err)
	}
	b.clientsTLS(t, ctx, srv, want, true)

	t.Run("verify", func(t *testing.T) {
		dst := filepath.Join(b.out, "verify")
		tr, err := scenario.CurlTLSVerify(ctx, b.tp, scenario.EPSV, b.pki.CACert, "-o", dst, scenario.URL(srv, b.tp.ServerV6, "file"))
		if err != nil {
			t.Fatalf("%v\n%s", err, tr)
		}
		sumOf(t, dst, want)
		if s, i := scenario.CertNames(tr); s != "O=ftpgate testbed; CN=ftpserver" || !strings.HasSuffix(i, "CN="+b.pki.CAName) {
			t.Errorf("curl saw subject %q issuer %q", s, i)
		}
		tr, err = scenario.LftpTLSVerify(ctx, b.tp, srv, b.tp.ServerV4, scenario.PASV, b.pki.CACert, "get file -o "+dst+"-lftp")
		if err != nil {
			t.Fatalf("%v\n%s", err, tr)
		}
		sumOf(t, dst+"-lftp", want)
		res, err := scenario.PyTLS(ctx, b.tp, srv, b.tp.ServerV4, scenario.EPSV,
			scenario.PyTLSOptions{Reuse: true, CAFile: b.pki.CACert}, "get:file:"+dst+"-py")
		if err != nil {
			t.Fatalf("%v\n%s", err, res.Transcript)
		}
		if !strings.Contains(res.Stdout, "CERT subject=organizationName=ftpgate testbed,commonName=ftpserver issuer=") {
			t.Errorf("python saw %s", res.Stdout)
		}
	})

	// require_ssl_reuse=YES: a data handshake that does not resume the
	// control session is refused with 522, in TLS 1.3 and 1.2 alike.
	for _, tlsMax := range []string{"1.3", "1.2"} {
		t.Run("reuse-required/tls"+tlsMax, func(t *testing.T) {
			dst := filepath.Join(b.out, "reuse"+tlsMax)
			res, err := scenario.PyTLS(ctx, b.tp, srv, b.tp.ServerV4, scenario.PASV, scenario.PyTLSOptions{TLSMax: tlsMax}, "get:file:"+dst)
			if err == nil || !strings.Contains(res.Transcript, "522 SSL connection failed: session reuse required") {
				t.Errorf("non-resuming client: err %v\n%s", err, res.Transcript)
			}
			if len(res.DataReused) != 1 || res.DataReused[0] {
				t.Errorf("data sessions reused: %v", res.DataReused)
			}
			res, err = scenario.PyTLS(ctx, b.tp, srv, b.tp.ServerV4, scenario.PASV, scenario.PyTLSOptions{TLSMax: tlsMax, Reuse: true}, "get:file:"+dst)
			if err != nil {
				t.Fatalf("%v\n%s", err, res.Transcript)
			}
			if res.Version != "TLSv"+tlsMax || len(res.DataReused) != 1 || !res.DataReused[0] {
				t.Errorf("version %s, data sessions reused %v", res.Version, res.DataReused)
			}
			sumOf(t, dst, want)
			tr, err := scenario.CurlTLS(ctx, b.tp, scenario.EPSV, "--tls-max", tlsMax, "-o", dst+"-curl", scenario.URL(srv, b.tp.ServerV4, "file"))
			if err != nil {
				t.Fatalf("%v\n%s", err, tr)
			}
			if !strings.Contains(tr, "SSL connection using TLSv"+tlsMax) {
				t.Errorf("curl did not use TLS %s\n%s", tlsMax, tr)
			}
			sumOf(t, dst+"-curl", want)
			prio := "NORMAL"
			if tlsMax == "1.2" {
				prio = "NORMAL:-VERS-TLS1.3"
			}
			tr, err = scenario.LftpTLS(ctx, b.tp, srv, b.tp.ServerV4, scenario.EPSV, "set ssl:priority "+prio+"; get file -o "+dst+"-lftp")
			if err != nil {
				t.Fatalf("%v\n%s", err, tr)
			}
			sumOf(t, dst+"-lftp", want)
		})
	}

	t.Run("implicit", func(t *testing.T) {
		for _, fam := range families(b.tp) {
			dst := filepath.Join(b.out, "implicit-"+fam.name)
			url := "ftps" + strings.TrimPrefix(scenario.URL(srv, fam.addr, "file"), "ftp")
			tr, err := scenario.CurlTLS(ctx, b.tp, scenario.EPSV, "-o", dst, url)
			if err != nil {
				t.Fatalf("%v\n%s", err, tr)
			}
			if strings.Contains(tr, "> AUTH") || !strings.Contains(tr, ":990") {
				t.Errorf("not implicit FTPS on 990:\n%s", tr)
			}
			sumOf(t, dst, want)
			res, err := scenario.PyTLS(ctx, b.tp, srv, fam.addr, scenario.EPSV, scenario.PyTLSOptions{Implicit: true, Reuse: true}, "get:file:"+dst+"-py")
			if err != nil {
				t.Fatalf("%v\n%s", err, res.Transcript)
			}
			sumOf(t, dst+"-py", want)
		}
	})

	t.Run("plain-allowed", func(t *testing.T) {
		dst := filepath.Join(b.out, "plain")
		if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, scenario.URL(srv, b.tp.ServerV4, "file")); err != nil {
			t.Fatalf("%v\n%s", err, tr)
		}
		sumOf(t, dst, want)
	})
	if err := srv.Stop(); err != nil {
		t.Errorf("stop vsftpd: %v", err)
	}
}

// curlUpload uploads src to url with CurlTLS, trying up to three times while vsftpd
// answers 426 (curl exit 18): now and then, more often on a loaded machine, vsftpd's read of
// a TLS 1.3 upload fails after curl's close_notify and close (curl closes with vsftpd's
// session tickets unread, so its kernel may answer with a reset). No ftpgate is involved.
func curlUpload(t *testing.T, ctx context.Context, tp *testbed.Topology, m scenario.Mode, src, url string) (string, error) {
	tr, err := scenario.CurlTLS(ctx, tp, m, "-T", src, url)
	for try := 2; try <= 3 && err != nil && strings.Contains(tr, "server did not report OK, got 426"); try++ {
		t.Logf("curl upload got 426, try %d of 3:\n%s", try, tr)
		tr, err = scenario.CurlTLS(ctx, tp, m, "-T", src, url)
	}
	return tr, err
}
