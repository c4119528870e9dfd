package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/policy"
)

// pki is a set of PEM files in a temporary directory: a self-signed server certificate
// and its key, a CA and its key, a key that matches neither, and a file without PEM.
type pki struct {
	dir               string
	cert, key         string // self-signed server certificate (not a CA)
	caCert, caKey     string // CA certificate (CA:TRUE, certSign)
	otherKey, garbage string
	// serverPin is the server certificate's pin as "sha256/BASE64", caPinHex the CA's as
	// 64 hex digits.
	serverPin, caPinHex string
}

// newPKI writes the files of a pki into t.TempDir().
func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{
		dir: dir, cert: filepath.Join(dir, "server.crt"), key: filepath.Join(dir, "server.key"),
		caCert: filepath.Join(dir, "ca.crt"), caKey: filepath.Join(dir, "ca.key"),
		otherKey: filepath.Join(dir, "other.key"), garbage: filepath.Join(dir, "garbage.pem"),
	}
	now := time.Now()
	serverKey := writeKey(t, p.key)
	server := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ftp.example.test"},
		DNSNames:     []string{"ftp.example.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leaf := writeCert(t, p.cert, server, server, serverKey, serverKey)
	p.serverPin = ftptls.PinOf(leaf)

	caKey := writeKey(t, p.caKey)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "ftpgate test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	p.caPinHex = pinHex(t, ftptls.PinOf(writeCert(t, p.caCert, ca, ca, caKey, caKey)))

	writeKey(t, p.otherKey)
	if err := os.WriteFile(p.garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeKey writes a fresh ECDSA P-256 key as PKCS#8 PEM.
func writeKey(t *testing.T, file string) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, file, "PRIVATE KEY", der)
	return key
}

// writeCert signs tmpl with the parent's key and writes it as PEM.
func writeCert(t *testing.T, file string, tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, file, "CERTIFICATE", der)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// writePEM writes one PEM block to file.
func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pinHex turns a "sha256/BASE64" pin into its 64 hex digits form.
func pinHex(t *testing.T, pin string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pin, "sha256/"))
	if err != nil || len(raw) != 32 {
		t.Fatalf("pin %q: %v", pin, err)
	}
	return hex.EncodeToString(raw)
}

// tlsPolicy is minimal with a policy p that has the given tls: block (indented lines).
func tlsPolicy(block string) string {
	return "version: 1\nservices:\n  - {name: a, policy: p}\npolicies:\n  p:\n    tls:\n" + block
}

func TestTLSErrors(t *testing.T) {
	k := newPKI(t)
	none := filepath.Join(k.dir, "none.pem")
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"not a mapping", "version: 1\nservices:\n  - {name: a, policy: p}\npolicies:\n  p:\n    tls: required\n",
			"ftpgate.yaml:6: policies.p.tls: must be a mapping"},
		{"unknown key", tlsPolicy("      clinet: optional\n"),
			"ftpgate.yaml:7: policies.p.tls.clinet: unknown key"},
		{"client value", tlsPolicy("      client: maybe\n"),
			`ftpgate.yaml:7: policies.p.tls.client: unknown value "maybe" (optional, required, refused)`},
		{"client type", tlsPolicy("      client: true\n"),
			"ftpgate.yaml:7: policies.p.tls.client: must be a string"},
		{"server value", tlsPolicy("      server: always\n"),
			`ftpgate.yaml:7: policies.p.tls.server: unknown value "always" (optional, required, refused, bridge)`},
		{"client bridge", tlsPolicy("      client: bridge\n"),
			`ftpgate.yaml:7: policies.p.tls.client: unknown value "bridge" (optional, required, refused)`},
		{"data protection value", tlsPolicy("      data_protection: off\n"),
			`ftpgate.yaml:7: policies.p.tls.data_protection: unknown value "off" (sticky, required, any)`},
		{"reuse value", tlsPolicy("      client_data_reuse: never\n"),
			`ftpgate.yaml:7: policies.p.tls.client_data_reuse: unknown value "never" (required, optional)`},
		{"verify value", tlsPolicy("      verify: none\n"),
			`ftpgate.yaml:7: policies.p.tls.verify: unknown value "none" (system, ca, pin, insecure)`},
		{"client required without certificate", tlsPolicy("      server: required\n      client: required\n"),
			"ftpgate.yaml:8: policies.p.tls.client: client TLS needs certificate or mint"},
		{"client optional without certificate", tlsPolicy("      client: optional\n"),
			"ftpgate.yaml:7: policies.p.tls.client: client TLS needs certificate or mint"},
		{"certificate not a mapping", tlsPolicy("      certificate: " + k.cert + "\n"),
			"ftpgate.yaml:7: policies.p.tls.certificate: must be a mapping"},
		{"certificate unknown key", tlsPolicy("      certificate: {cert: " + k.cert + ", keyfile: " + k.key + "}\n"),
			"ftpgate.yaml:7: policies.p.tls.certificate.keyfile: unknown key"},
		{"certificate without key", tlsPolicy("      certificate:\n        cert: " + k.cert + "\n"),
			"ftpgate.yaml:8: policies.p.tls.certificate.key: required"},
		{"certificate without cert", tlsPolicy("      certificate: {key: " + k.key + "}\n"),
			"ftpgate.yaml:7: policies.p.tls.certificate.cert: required"},
		{"certificate empty", tlsPolicy("      certificate: {cert: \"\", key: " + k.key + "}\n"),
			"ftpgate.yaml:7: policies.p.tls.certificate.cert: must not be empty"},
		{"certificate file missing", tlsPolicy("      certificate:\n        cert: " + none + "\n        key: " + k.key + "\n"),
			"ftpgate.yaml:8: policies.p.tls.certificate.cert: open " + none + ": no such file or directory"},
		{"key file missing", tlsPolicy("      certificate:\n        cert: " + k.cert + "\n        key: " + none + "\n"),
			"ftpgate.yaml:9: policies.p.tls.certificate.key: open " + none + ": no such file or directory"},
		{"certificate not PEM", tlsPolicy("      certificate: {cert: " + k.garbage + ", key: " + k.key + "}\n"),
			"ftpgate.yaml:7: policies.p.tls.certificate: load certificate " + k.garbage + " with key " + k.key + ": tls: failed to find any PEM data in certificate input"},
		{"key does not match", tlsPolicy("      certificate: {cert: " + k.cert + ", key: " + k.otherKey + "}\n"),
			"ftpgate.yaml:7: policies.p.tls.certificate: load certificate " + k.cert + " with key " + k.otherKey + ": tls: private key does not match public key"},
		{"certificate and mint", tlsPolicy("      certificate: {cert: " + k.cert + ", key: " + k.key + "}\n      mint: {ca: " + k.caCert + ", key: " + k.caKey + "}\n"),
			"ftpgate.yaml:8: policies.p.tls.mint: exclusive with certificate (set one of them)"},
		{"mint without key", tlsPolicy("      mint: {ca: " + k.caCert + "}\n"),
			"ftpgate.yaml:7: policies.p.tls.mint.key: required"},
		{"mint CA missing", tlsPolicy("      mint:\n        ca: " + none + "\n        key: " + k.caKey + "\n"),
			"ftpgate.yaml:8: policies.p.tls.mint.ca: open " + none + ": no such file or directory"},
		{"mint key missing", tlsPolicy("      mint:\n        ca: " + k.caCert + "\n        key: " + none + "\n"),
			"ftpgate.yaml:9: policies.p.tls.mint.key: open " + none + ": no such file or directory"},
		{"mint not a CA", tlsPolicy("      mint: {ca: " + k.cert + ", key: " + k.key + "}\n"),
			`ftpgate.yaml:7: policies.p.tls.mint: load CA ` + k.cert + `: minter: certificate "CN=ftp.example.test" is not a CA (basic constraints CA:TRUE missing)`},
		{"mint key does not match", tlsPolicy("      mint: {ca: " + k.caCert + ", key: " + k.key + "}\n"),
			`ftpgate.yaml:7: policies.p.tls.mint: load CA ` + k.caCert + `: minter: private key does not match CA certificate "CN=ftpgate test CA"`},
		{"mint CA not PEM", tlsPolicy("      mint: {ca: " + k.garbage + ", key: " + k.caKey + "}\n"),
			"ftpgate.yaml:7: policies.p.tls.mint: load CA: " + k.garbage + ": no PEM CERTIFICATE block found"},
		{"verify ca without ca_file", tlsPolicy("      verify: ca\n"),
			"ftpgate.yaml:7: policies.p.tls.verify: ca needs ca_file"},
		{"verify pin without pins", tlsPolicy("      verify: pin\n"),
			"ftpgate.yaml:7: policies.p.tls.verify: pin needs pins"},
		{"ca_file without verify ca", tlsPolicy("      ca_file: " + k.caCert + "\n"),
			"ftpgate.yaml:7: policies.p.tls.ca_file: only for verify: ca"},
		{"ca_file with verify pin", tlsPolicy("      verify: pin\n      pins: [\"" + k.serverPin + "\"]\n      ca_file: " + k.caCert + "\n"),
			"ftpgate.yaml:9: policies.p.tls.ca_file: only for verify: ca"},
		{"pins without verify pin", tlsPolicy("      verify: insecure\n      pins: [\"" + k.serverPin + "\"]\n"),
			"ftpgate.yaml:8: policies.p.tls.pins: only for verify: pin"},
		{"ca_file empty", tlsPolicy("      verify: ca\n      ca_file: \"\"\n"),
			"ftpgate.yaml:8: policies.p.tls.ca_file: must not be empty"},
		{"ca_file missing", tlsPolicy("      verify: ca\n      ca_file: " + none + "\n"),
			"ftpgate.yaml:8: policies.p.tls.ca_file: open " + none + ": no such file or directory"},
		{"ca_file not PEM", tlsPolicy("      verify: ca\n      ca_file: " + k.garbage + "\n"),
			"ftpgate.yaml:8: policies.p.tls.ca_file: " + k.garbage + ": no PEM CERTIFICATE block found"},
		{"pins not a list", tlsPolicy("      verify: pin\n      pins: \"" + k.serverPin + "\"\n"),
			"ftpgate.yaml:8: policies.p.tls.pins: must be a list"},
		{"pins empty list", tlsPolicy("      verify: pin\n      pins: []\n"),
			"ftpgate.yaml:8: policies.p.tls.pins: must not be empty (leave the key out unless verify: pin)"},
		{"pin not a string", tlsPolicy("      verify: pin\n      pins: [1]\n"),
			"ftpgate.yaml:8: policies.p.tls.pins[0]: must be a string"},
		{"pin empty", tlsPolicy("      verify: pin\n      pins:\n        - \"" + k.serverPin + "\"\n        - \"\"\n"),
			"ftpgate.yaml:10: policies.p.tls.pins[1]: must not be empty"},
		{"pin malformed", tlsPolicy("      verify: pin\n      pins:\n        - \"" + k.serverPin + "\"\n        - sha1/abc\n"),
			`ftpgate.yaml:10: policies.p.tls.pins[1]: pin "sha1/abc": want sha256/BASE64 or 64 hex digits`},
		{"pin short", tlsPolicy("      verify: pin\n      pins: [\"sha256/AAAA\"]\n"),
			`ftpgate.yaml:8: policies.p.tls.pins[0]: pin "sha256/AAAA": 3 bytes, want 32`},
		{"pin bad base64", tlsPolicy("      verify: pin\n      pins: [\"sha256/!!\"]\n"),
			`ftpgate.yaml:8: policies.p.tls.pins[0]: pin "sha256/!!": illegal base64 data at input byte 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseTest(t, tt.src)
			if err == nil {
				t.Fatalf("Parse succeeded (%d services), want error %q", len(cfg.Services), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			// A missing certificate must not look like a missing configuration file.
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v wraps fs.ErrNotExist", err)
			}
		})
	}
}

// TestTLSFull loads a block with every key, its files named relative to the
// configuration file.
func TestTLSFull(t *testing.T) {
	k := newPKI(t)
	src := tlsPolicy(`      client: required
      server: required
      certificate:
        cert: server.crt
        key: server.key
      verify: pin
      pins: ["` + k.serverPin + `", "` + k.caPinHex + `"]
`)
	path := filepath.Join(k.dir, "ftpgate.yaml")
	cfg, err := Parse(path, []byte(src), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tp := cfg.Policies["p"].TLS
	if tp.Client != "required" || tp.Server != "required" || tp.CertFile != k.cert || tp.KeyFile != k.key || tp.MintCA != "" || tp.MintKey != "" {
		t.Errorf("TLS = %+v", tp)
	}
	if want := (policy.TLSVerify{Mode: "pin", Pins: []string{k.serverPin, k.caPinHex}}); tp.Verify.Mode != want.Mode || tp.Verify.CAFile != "" || !slices.Equal(tp.Verify.Pins, want.Pins) {
		t.Errorf("Verify = %+v, want %+v", tp.Verify, want)
	}
	if tp.Certs == nil {
		t.Fatal("Certs not set")
	}
	cert, err := tp.Certs.ForServer(netip.MustParseAddr("203.0.113.5"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf == nil || ftptls.PinOf(cert.Leaf) != k.serverPin {
		t.Errorf("static certificate is not server.crt")
	}
	var b strings.Builder
	if err := cfg.Describe(&b); err != nil {
		t.Fatal(err)
	}
	want := "    tls: client required (certificate " + k.cert + ")  server required  verify pin (pins " + k.serverPin + ", " + k.caPinHex + ")\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("Describe lacks %q:\n%s", want, b.String())
	}
}

// TestTLSMint loads a minting CA; the default client leg is then optional, and a minted
// certificate chains to the CA.
func TestTLSMint(t *testing.T) {
	k := newPKI(t)
	cfg := mustParse(t, tlsPolicy("      mint: {ca: "+k.caCert+", key: "+k.caKey+"}\n      verify: ca\n      ca_file: "+k.caCert+"\n"))
	tp := cfg.Policies["p"].TLS
	if tp.Client != "optional" || tp.Server != "optional" || tp.MintCA != k.caCert || tp.MintKey != k.caKey || tp.CertFile != "" {
		t.Errorf("TLS = %+v", tp)
	}
	if tp.Verify.Mode != "ca" || tp.Verify.CAFile != k.caCert || tp.Verify.Pins != nil {
		t.Errorf("Verify = %+v", tp.Verify)
	}
	if _, ok := tp.Certs.(*ftptls.Minter); !ok {
		t.Fatalf("Certs is %T, want *ftptls.Minter", tp.Certs)
	}
	cert, err := tp.Certs.ForServer(netip.MustParseAddr("203.0.113.5"), "ftp.example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(k.caCert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "ftp.example.test"}); err != nil {
		t.Errorf("minted certificate does not chain to the CA: %v", err)
	}
	var b strings.Builder
	if err := cfg.Describe(&b); err != nil {
		t.Fatal(err)
	}
	want := "    tls: client optional (mint " + k.caCert + ")  server optional  verify ca (ca_file " + k.caCert + ")\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("Describe lacks %q:\n%s", want, b.String())
	}
}

// TestTLSDefaults checks the defaults of a policy without tls:, of an empty tls:, of a
// preset used directly, of the built-in configuration, and that a certificate alone makes
// the client leg optional while client: refused keeps it refused.
func TestTLSDefaults(t *testing.T) {
	k := newPKI(t)
	want := policy.TLSPolicy{Client: "refused", Server: "optional", Verify: policy.TLSVerify{Mode: "system"}}
	cfg := mustParse(t, "version: 1\nservices:\n  - {name: a, policy: p}\n  - {name: b, policy: readonly}\npolicies:\n  p: {}\n  q: {tls: {}}\n  r: {tls: {server: refused, verify: insecure}}\n")
	for _, name := range []string{"p", "q", "readonly"} {
		if got := cfg.Policies[name].TLS; !equalTLS(got, want) {
			t.Errorf("policy %s: TLS = %+v, want %+v", name, got, want)
		}
	}
	if got, want := cfg.Policies["r"].TLS, (policy.TLSPolicy{Client: "refused", Server: "refused", Verify: policy.TLSVerify{Mode: "insecure"}}); !equalTLS(got, want) {
		t.Errorf("policy r: TLS = %+v, want %+v", got, want)
	}
	if got := Default().Policies["readwrite"].TLS; !equalTLS(got, want) {
		t.Errorf("Default(): TLS = %+v, want %+v", got, want)
	}
	var b strings.Builder
	if err := cfg.Describe(&b); err != nil {
		t.Fatal(err)
	}
	if line := "    tls: client refused  server optional  verify system\n"; strings.Count(b.String(), line) != 2 {
		t.Errorf("Describe has %d times %q, want 2:\n%s", strings.Count(b.String(), line), line, b.String())
	}

	cert := "      certificate: {cert: " + k.cert + ", key: " + k.key + "}\n"
	if got := mustParse(t, tlsPolicy(cert)).Policies["p"].TLS; got.Client != "optional" || got.Certs == nil {
		t.Errorf("with a certificate: client %q, Certs %v; want optional and set", got.Client, got.Certs)
	}
	if got := mustParse(t, tlsPolicy(cert+"      client: refused\n")).Policies["p"].TLS; got.Client != "refused" || got.Certs == nil {
		t.Errorf("client refused with a certificate: client %q, Certs %v", got.Client, got.Certs)
	}
}

// equalTLS compares the TLS settings that do not hold certificates.
func equalTLS(a, b policy.TLSPolicy) bool {
	return a.Client == b.Client && a.Server == b.Server && a.Certs == nil && b.Certs == nil &&
		a.Verify.Mode == b.Verify.Mode && a.Verify.CAFile == b.Verify.CAFile && slices.Equal(a.Verify.Pins, b.Verify.Pins) &&
		a.CertFile == b.CertFile && a.KeyFile == b.KeyFile && a.MintCA == b.MintCA && a.MintKey == b.MintKey
}

// TestTLSCCC: tls.ccc: true lets CCC through the command table (unless the table names it),
// and says so in Describe; a non-boolean is an error.
func TestTLSCCC(t *testing.T) {
	c, err := Parse("ftpgate.yaml", []byte(tlsPolicy("      ccc: true\n")), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policies["p"]
	if !p.TLS.AllowCCC || p.Commands["CCC"].Kind != policy.Accept {
		t.Fatalf("AllowCCC %v, CCC entry %+v", p.TLS.AllowCCC, p.Commands["CCC"])
	}
	if !strings.Contains(describeTLS(p.TLS), "ccc allowed") {
		t.Errorf("Describe: %q", describeTLS(p.TLS))
	}
	c, err = Parse("ftpgate.yaml", []byte(tlsPolicy("      ccc: true\n")+"    commands:\n      CCC: reject\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Policies["p"].Commands["CCC"].Kind != policy.Reject {
		t.Error("an explicit CCC entry was overridden")
	}
	if _, err := Parse("ftpgate.yaml", []byte(tlsPolicy("      ccc: sometimes\n")), nil); err == nil || !strings.Contains(err.Error(), "tls.ccc: must be true or false") {
		t.Errorf("ccc: sometimes: %v", err)
	}
}
