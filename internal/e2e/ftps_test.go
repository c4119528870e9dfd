package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// ftpsBed is a bed whose server speaks FTPS with a certificate from serverPKI, and whose
// gateway presents certificates from gwPKI (a static one, or minted by gwPKI's CA).
type ftpsBed struct {
	*bed
	serverPKI, gwPKI *testbed.PKI
	cfg              string // the gateway's configuration file
	gwCert, gwKey    string
}

// tlsPolicy writes the configuration with the given tls: block lines and reloads it if the
// gateway runs.
func (fb *ftpsBed) tlsPolicy(t *testing.T, lines string) {
	t.Helper()
	cfg := "version: 1\nservices:\n  - name: all\n    server_ports: [21, 990]\n    policy: p\npolicies:\n  p:\n    base: readwrite\n    tls:\n" + lines
	if err := os.WriteFile(fb.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if fb.bed != nil && fb.gw != nil {
		if msg, err := fb.gw.Reload(); err != nil || msg != "configuration reloaded" {
			t.Fatalf("reload: %q, %v\n%s", msg, err, tail(fb.gw.LogText(), 5))
		}
	}
}

// staticTLS is the tls: block with the static gateway certificate and the server verified
// against serverPKI.
func (fb *ftpsBed) staticTLS(extra string) string {
	return fmt.Sprintf("      certificate: {cert: %s, key: %s}\n      verify: ca\n      ca_file: %s\n%s",
		fb.gwCert, fb.gwKey, fb.serverPKI.CACert, extra)
}

// newFTPSBed starts vsftpd with explicit and implicit FTPS and require_ssl_reuse, and the
// gateway intercepting ports 21 and 990, with gwArgs added to its arguments.
func newFTPSBed(t *testing.T, opts testbed.TLSOptions, files map[string]int64, gwArgs ...string) *ftpsBed {
	t.Helper()
	dir := t.TempDir()
	fb := &ftpsBed{cfg: filepath.Join(dir, "ftpgate.yaml")}
	var err error
	if fb.serverPKI, err = testbed.NewPKI(filepath.Join(dir, "server-pki")); err != nil {
		t.Fatal(err)
	}
	if fb.gwPKI, err = testbed.NewPKI(filepath.Join(dir, "gateway-pki")); err != nil {
		t.Fatal(err)
	}
	servers := []netip.Addr{netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("2001:db8:2::2")}
	// The gateway's static certificate names the servers' addresses: clients connect to them.
	if fb.gwCert, fb.gwKey, err = fb.gwPKI.Issue("gateway", nil, servers); err != nil {
		t.Fatal(err)
	}
	if opts.CertFile == "" {
		if opts.CertFile, opts.KeyFile, err = fb.serverPKI.Issue("vsftpd", nil, servers); err != nil {
			t.Fatal(err)
		}
	}
	fb.tlsPolicy(t, fb.staticTLS(""))
	start := func(tp *testbed.Topology, ctx context.Context) (*testbed.FTPServer, error) {
		return tp.StartVsftpdWith(ctx, testbed.VsftpdOptions{TLS: &opts})
	}
	fb.bed = newBedWith(t, start, files, append([]string{"-c", fb.cfg, "-control-ports", "21,990"}, gwArgs...)...)
	return fb
}

// TestFTPS: explicit and implicit FTPS through the gateway against vsftpd with
// require_ssl_reuse, with curl, lftp and Python ftplib, in every mode the clients can do.
func TestFTPS(t *testing.T) {
	fb := newFTPSBed(t, testbed.TLSOptions{RequireReuse: true, Implicit: true}, map[string]int64{"small.bin": small})
	b := fb.bed
	upload := filepath.Join(b.tp.Dir, "tls-up.bin")
	upSum, err := testbed.MakeFile(upload, small+777)
	if err != nil {
		t.Fatal(err)
	}
	gwCA := fb.gwPKI.CACert

	t.Run("curl", func(t *testing.T) {
		// curl cannot do active mode over TLS (curl issue 10666): passive modes only.
		for _, c := range []struct {
			addr netip.Addr
			m    scenario.Mode
		}{{b.tp.ServerV4, scenario.PASV}, {b.tp.ServerV4, scenario.EPSV}, {b.tp.ServerV6, scenario.EPSV}} {
			ctx := b.ctx(t)
			dst := filepath.Join(b.tp.Dir, fmt.Sprintf("tls-curl-%s-%s", c.addr, c.m))
			tr, err := scenario.CurlTLSVerify(ctx, b.tp, c.m, gwCA, "-o", dst, scenario.URL(b.srv, c.addr, "small.bin"))
			if err != nil {
				t.Fatalf("%s %s RETR: %v\n%s", c.addr, c.m, err, tail(tr, 30))
			}
			if !strings.Contains(tr, "SSL re-using session ID") {
				t.Errorf("%s %s: curl's data connection did not resume its TLS session with the gateway", c.addr, c.m)
			}
			if _, issuer := scenario.CertNames(tr); !strings.Contains(issuer, fb.gwPKI.CAName) {
				t.Errorf("the client saw a certificate issued by %q, want the gateway's CA %q", issuer, fb.gwPKI.CAName)
			}
			if sha(t, dst) != b.sums["small.bin"] {
				t.Fatal("RETR: checksum differs")
			}
			name := fmt.Sprintf("tls-curl-up-%s-%s.bin", strings.ReplaceAll(c.addr.String(), ":", "_"), c.m)
			if tr, err := scenario.CurlTLSVerify(ctx, b.tp, c.m, gwCA, "-T", upload, scenario.URL(b.srv, c.addr, name)); err != nil {
				t.Fatalf("%s %s STOR: %v\n%s", c.addr, c.m, err, tail(tr, 30))
			}
			if sha(t, filepath.Join(b.srv.Root, name)) != upSum {
				t.Fatal("STOR: checksum differs")
			}
			// data_path auto (the default): TLS data channels take the proxy path.
			if r := b.transferLog(t, "STOR", name); r["path"] != "proxy" {
				t.Errorf("%s %s: the FTPS upload took path %v, want proxy", c.addr, c.m, r["path"])
			}
			if tr, err := scenario.CurlTLSVerify(ctx, b.tp, c.m, gwCA, scenario.URL(b.srv, c.addr, "")); err != nil {
				t.Fatalf("%s %s LIST: %v\n%s", c.addr, c.m, err, tail(tr, 30))
			}
		}
	})

	t.Run("lftp", func(t *testing.T) {
		for _, c := range []struct {
			addr netip.Addr
			m    scenario.Mode
		}{{b.tp.ServerV4, scenario.PASV}, {b.tp.ServerV4, scenario.EPSV}, {b.tp.ServerV4, scenario.PORT},
			{b.tp.ServerV6, scenario.EPSV}, {b.tp.ServerV6, scenario.EPRT}} {
			dst := filepath.Join(b.tp.Dir, fmt.Sprintf("tls-lftp-%s-%s", c.addr, c.m))
			name := fmt.Sprintf("tls-lftp-up-%s-%s.bin", strings.ReplaceAll(c.addr.String(), ":", "_"), c.m)
			script := fmt.Sprintf("get small.bin -o %s; put %s -o %s; ls", dst, upload, name)
			if tr, err := scenario.LftpTLSVerify(b.ctx(t), b.tp, b.srv, c.addr, c.m, gwCA, script); err != nil {
				t.Fatalf("%s %s: %v\n%s", c.addr, c.m, err, tail(tr, 30))
			}
			if sha(t, dst) != b.sums["small.bin"] || sha(t, filepath.Join(b.srv.Root, name)) != upSum {
				t.Fatalf("%s %s: checksums differ", c.addr, c.m)
			}
		}
	})

	t.Run("python", func(t *testing.T) {
		// A resuming ftplib (stock ftplib does not resume, and ftpgate's default
		// client_data_reuse: required refuses it; TestFTPSGuards checks that): its data
		// connections resume the control session toward ftpgate, and ftpgate's toward vsftpd
		// (require_ssl_reuse) resume its own.
		for _, v6 := range []bool{false, true} {
			addr := b.tp.ServerV4
			if v6 {
				addr = b.tp.ServerV6
			}
			for _, m := range scenario.Modes(v6) {
				dst := filepath.Join(b.tp.Dir, fmt.Sprintf("tls-py-%s-%s", addr, m))
				res, err := scenario.PyTLS(b.ctx(t), b.tp, b.srv, addr, m, scenario.PyTLSOptions{CAFile: gwCA, Reuse: true},
					"get:small.bin:"+dst, "list")
				if err != nil {
					t.Fatalf("%s %s: %v\n%s", addr, m, err, tail(res.Transcript+res.Stdout, 30))
				}
				if len(res.DataReused) != 2 || !res.DataReused[0] || !res.DataReused[1] {
					t.Errorf("%s %s: data connections resumed %v, want [true true]", addr, m, res.DataReused)
				}
				if sha(t, dst) != b.sums["small.bin"] {
					t.Fatalf("%s %s: checksum differs", addr, m)
				}
			}
		}
	})

	t.Run("REIN under TLS", func(t *testing.T) {
		// The policy lets REIN pass; the TLS rule still refuses it on a protected connection.
		fb.tlsPolicy(t, fb.staticTLS("")+"    commands:\n      REIN: accept\n")
		res, _ := scenario.PyTLS(b.ctx(t), b.tp, b.srv, b.tp.ServerV4, scenario.EPSV, scenario.PyTLSOptions{CAFile: gwCA}, "cmd:REIN")
		if !strings.Contains(res.Transcript, "<--- 502") {
			t.Fatalf("REIN on a TLS control connection: want 502:\n%s", tail(res.Transcript, 10))
		}
	})

	t.Run("implicit", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "tls-implicit")
		url := strings.Replace(scenario.URL(b.srv, b.tp.ServerV4, "small.bin"), "ftp://", "ftps://", 1)
		if tr, err := scenario.CurlTLSVerify(b.ctx(t), b.tp, scenario.EPSV, gwCA, "-o", dst, url); err != nil {
			t.Fatalf("implicit FTPS: %v\n%s", err, tail(tr, 30))
		}
		if sha(t, dst) != b.sums["small.bin"] {
			t.Fatal("checksum differs")
		}
	})

	t.Run("records", func(t *testing.T) {
		rec, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" && r.Complete })
		if !ok {
			t.Fatal("no RETR record")
		}
		logs := b.gw.Logs("transfer")
		var withTLS int
		for _, l := range logs {
			if strings.HasPrefix(fmt.Sprint(l["tls_client"]), "TLS1.") && strings.HasPrefix(fmt.Sprint(l["tls_server"]), "TLS1.") {
				withTLS++
			}
		}
		if withTLS == 0 {
			t.Fatalf("no transfer record names the TLS of both data legs (e.g. %+v)", rec)
		}
		// FTPS data is decrypted in ftpgate: the record has the plaintext's digest.
		for _, r := range b.gw.Records() {
			if r.Command == "RETR" && r.Complete && strings.HasSuffix(r.Arg, "small.bin") {
				checkDigest(t, r, b.sums["small.bin"], b.sizes["small.bin"])
			}
		}
		if !strings.Contains(b.gw.LogText(), "TLS on the server leg") || !strings.Contains(b.gw.LogText(), "TLS on the client leg") {
			t.Error("the session log does not say which legs were TLS")
		}
	})

	t.Run("minted", func(t *testing.T) {
		fb.tlsPolicy(t, fmt.Sprintf("      mint: {ca: %s, key: %s}\n      verify: ca\n      ca_file: %s\n",
			fb.gwPKI.CACert, fb.gwPKI.CAKey, fb.serverPKI.CACert))
		dst := filepath.Join(b.tp.Dir, "tls-minted")
		tr, err := scenario.CurlTLSVerify(b.ctx(t), b.tp, scenario.EPSV, gwCA, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin"))
		if err != nil {
			t.Fatalf("minted: %v\n%s", err, tail(tr, 30))
		}
		subject, issuer := scenario.CertNames(tr)
		if !strings.Contains(issuer, fb.gwPKI.CAName) || !strings.Contains(subject, "vsftpd") {
			t.Errorf("minted certificate: subject %q issuer %q; want the server's name copied, issued by %q", subject, issuer, fb.gwPKI.CAName)
		}
	})

	t.Run("FEAT", func(t *testing.T) {
		st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), "FEAT")
		if r := fmt.Sprint(st["0"]["reply"]); !strings.Contains(r, "AUTH TLS") || !strings.Contains(r, "PROT") {
			t.Errorf("FEAT with TLS offered toward the client lacks AUTH TLS/PROT: %q", r)
		}
	})

	t.Run("CCC", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "tls-ccc")
		get := func() (string, error) {
			return scenario.CurlTLSVerify(b.ctx(t), b.tp, scenario.EPSV, gwCA, "--ftp-ssl-ccc", "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin"))
		}
		tr, _ := get()
		if r := replyTo(tr, "CCC"); !strings.HasPrefix(r, "5") {
			t.Fatalf("CCC by default: reply %q, want a 5xx refusal:\n%s", r, tail(tr, 40))
		}
		// curl drops its TLS session when it clears the control connection, so its data
		// connections cannot resume it: with CCC, client_data_reuse must be optional.
		fb.tlsPolicy(t, fb.staticTLS("      ccc: true\n"))
		if tr, err := get(); err == nil || !strings.Contains(tr, "522") {
			t.Fatalf("CCC with client_data_reuse required: %v, want the data connection refused with 522:\n%s", err, tail(tr, 30))
		}
		fb.tlsPolicy(t, fb.staticTLS("      ccc: true\n      client_data_reuse: optional\n"))
		tr, err := get()
		if r := replyTo(tr, "CCC"); err != nil || !strings.HasPrefix(r, "200") {
			t.Fatalf("CCC allowed: %v\n%s", err, tail(tr, 30))
		}
		if sha(t, dst) != b.sums["small.bin"] {
			t.Fatal("checksum differs after CCC")
		}
		if !strings.Contains(b.gw.LogText(), "CCC: the client's control connection is in the clear") {
			t.Error("CCC not logged")
		}
	})

	t.Run("client TLS, server plain", func(t *testing.T) {
		fb.tlsPolicy(t, fb.staticTLS("      server: refused\n"))
		dst := filepath.Join(b.tp.Dir, "tls-client-only")
		if tr, err := scenario.CurlTLSVerify(b.ctx(t), b.tp, scenario.EPSV, gwCA, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
			t.Fatalf("TLS client, plain server leg: %v\n%s", err, tail(tr, 30))
		}
		if sha(t, dst) != b.sums["small.bin"] {
			t.Fatal("checksum differs")
		}
		if _, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" && strings.HasSuffix(r.Arg, "small.bin") }); !ok {
			t.Fatal("no record")
		}
		last := b.gw.Logs("transfer")
		l := last[len(last)-1]
		if !strings.HasPrefix(fmt.Sprint(l["tls_client"]), "TLS1.") || l["tls_server"] != "" {
			t.Errorf("record legs: client %v, server %v; want client TLS, server plain", l["tls_client"], l["tls_server"])
		}
	})

	t.Run("callback sees TLS", func(t *testing.T) { testCallbackSeesTLS(t, fb) })

	t.Run("refused", func(t *testing.T) {
		fb.tlsPolicy(t, "      client: refused\n")
		st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), "NOOP")
		if r := fmt.Sprint(st["login"]["reply"]); !strings.HasPrefix(r, "230") {
			t.Fatalf("plain login with TLS refused: %q", r)
		}
		st = b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), "AUTH TLS", "FEAT")
		if r := fmt.Sprint(st["0"]["reply"]); !strings.HasPrefix(r, "534") && !strings.HasPrefix(r, "504") {
			t.Fatalf("AUTH TLS with TLS refused: %q, want 534/504", r)
		}
		if r := fmt.Sprint(st["1"]["reply"]); strings.Contains(r, "AUTH") {
			t.Errorf("FEAT advertises AUTH although TLS is refused toward the client: %q", r)
		}
	})
}

// TestFTPSServerLeg: a plain client reaching a server that insists on TLS (the WAN side is
// protected by the gateway), and the verification modes against a self-signed server.
func TestFTPSServerLeg(t *testing.T) {
	dir := t.TempDir()
	servers := []netip.Addr{netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("2001:db8:2::2")}
	cert, key, err := testbed.SelfSigned(dir, "selfsigned", servers)
	if err != nil {
		t.Fatal(err)
	}
	fb := newFTPSBed(t, testbed.TLSOptions{CertFile: cert, KeyFile: key, RequireReuse: true, ForceTLS: true}, map[string]int64{"small.bin": small})
	b := fb.bed
	dst := filepath.Join(b.tp.Dir, "plain-client.bin")
	plainGet := func() (string, error) {
		return scenario.Curl(b.ctx(t), b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin"))
	}

	fb.tlsPolicy(t, "      server: required\n      verify: insecure\n")
	if tr, err := plainGet(); err != nil {
		t.Fatalf("plain client, server leg TLS (insecure): %v\n%s", err, tail(tr, 30))
	}
	if sha(t, dst) != b.sums["small.bin"] {
		t.Fatal("checksum differs")
	}

	fb.tlsPolicy(t, "      server: required\n      verify: system\n")
	if tr, err := plainGet(); err == nil || !strings.Contains(tr, "421") {
		t.Fatalf("a self-signed server under verify system: err %v; want a 421 naming the failure:\n%s", err, tail(tr, 20))
	}
	if !strings.Contains(b.gw.LogText(), "unknown authority") && !strings.Contains(b.gw.LogText(), "unknown") {
		t.Error("the verification failure's reason is not logged")
	}

	// A TLS client asking AUTH TLS while the server can't be trusted: 431 with the reason.
	fb.tlsPolicy(t, fmt.Sprintf("      certificate: {cert: %s, key: %s}\n      verify: system\n", fb.gwCert, fb.gwKey))
	tr, err := scenario.CurlTLSVerify(b.ctx(t), b.tp, scenario.EPSV, fb.gwPKI.CACert, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin"))
	if err == nil || !strings.Contains(tr, "< 431 Cannot establish a trusted TLS connection to the server") {
		t.Fatalf("AUTH TLS toward an untrusted server: err %v; want 431 with the reason:\n%s", err, tail(tr, 20))
	}

	pin := pinOf(t, cert)
	fb.tlsPolicy(t, fmt.Sprintf("      server: required\n      verify: pin\n      pins: [%q]\n", pin))
	if tr, err := plainGet(); err != nil {
		t.Fatalf("pinned self-signed server: %v\n%s", err, tail(tr, 30))
	}
}

// pinOf is the sha256/BASE64 pin of the certificate in a PEM file.
func pinOf(t *testing.T, certFile string) string {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", certFile)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return ftptls.PinOf(c)
}

func replyTo(transcript, cmd string) string {
	lines := strings.Split(transcript, "\n")
	for i, l := range lines {
		if strings.TrimRight(l, "\r") != "> "+cmd {
			continue
		}
		for _, r := range lines[i+1:] {
			if strings.HasPrefix(r, "< ") {
				return strings.TrimRight(strings.TrimPrefix(r, "< "), "\r")
			}
		}
	}
	return ""
}
