package ftptls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadMinter loads CA files with RSA and ECDSA keys in every supported encoding, and
// checks the errors of bad files.
func TestLoadMinter(t *testing.T) {
	dir := t.TempDir()
	ecCA := newTestCA(t, "ec CA")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaCA := caWithKey(t, rsaKey)
	ecDER, err := x509.MarshalECPrivateKey(ecCA.key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	leaf := ecCA.issue(t, leafSpec{cn: "leaf"})

	ecCert := writePEM(t, dir, "ec-ca.pem", certBlock(ecCA.cert))
	rsaCert := writePEM(t, dir, "rsa-ca.pem", certBlock(rsaCA.cert))
	leafCert := writePEM(t, dir, "leaf.pem", certBlock(leaf.Leaf))
	tests := []struct {
		name     string
		certFile string
		keyFile  string
		wantErr  string // "" for success
	}{
		{"ECDSA SEC1 with EC PARAMETERS", ecCert, writePEM(t, dir, "ec-sec1.pem",
			&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}},
			&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), ""},
		{"ECDSA PKCS#8", ecCert, writePEM(t, dir, "ec-pkcs8.pem", pkcs8Block(t, ecCA.key)), ""},
		{"RSA PKCS#1", rsaCert, writePEM(t, dir, "rsa-pkcs1.pem",
			&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), ""},
		{"RSA PKCS#8", rsaCert, writePEM(t, dir, "rsa-pkcs8.pem", pkcs8Block(t, rsaKey)), ""},
		{"cert and key in one file", writePEM(t, dir, "both.pem", certBlock(ecCA.cert), pkcs8Block(t, ecCA.key)),
			filepath.Join(dir, "both.pem"), ""},
		{"missing certificate file", filepath.Join(dir, "nope.pem"), filepath.Join(dir, "ec-pkcs8.pem"), "no such file"},
		{"missing key file", ecCert, filepath.Join(dir, "nope.pem"), "no such file"},
		{"key file as certificate", filepath.Join(dir, "ec-pkcs8.pem"), filepath.Join(dir, "ec-pkcs8.pem"), "no PEM CERTIFICATE block"},
		{"certificate file as key", ecCert, ecCert, "no PEM private key block"},
		{"empty key file", ecCert, writePEM(t, dir, "empty.pem"), "no PEM private key block"},
		{"corrupt certificate", writePEM(t, dir, "bad-cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
			filepath.Join(dir, "ec-pkcs8.pem"), "certificate 1"},
		{"corrupt key", ecCert, writePEM(t, dir, "bad-key.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
			"parse EC PRIVATE KEY"},
		{"encrypted key", ecCert, writePEM(t, dir, "enc.pem", &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
			"encrypted private keys are not supported"},
		{"key of another CA", rsaCert, filepath.Join(dir, "ec-pkcs8.pem"), "does not match"},
		{"leaf certificate", leafCert, writePEM(t, dir, "leaf-key.pem", pkcs8Block(t, leaf.PrivateKey.(crypto.Signer))), "is not a CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := LoadMinter(tt.certFile, tt.keyFile)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "ftptls: ") {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cert, err := m.ForServer(netip.MustParseAddr("::1"), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.Leaf.CheckSignatureFrom(m.ca); err != nil {
				t.Fatalf("minted certificate not signed by the loaded CA: %v", err)
			}
		})
	}
}

// caWithKey makes a self-signed CA certificate for key.
func caWithKey(t *testing.T, key crypto.Signer) *testCA {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "rsa CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return &testCA{cert: createCert(t, tmpl, tmpl, key, key), key: key}
}

// TestLoadStatic loads the operator's certificate and checks it is presented for every
// connection, and that bad files give clear errors.
func TestLoadStatic(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "ftptls test CA")
	cert := ca.issue(t, leafSpec{cn: "gw.example", dns: []string{"gw.example"}})
	certFile := writePEM(t, dir, "cert.pem", certBlock(cert.Leaf), certBlock(ca.cert))
	keyFile := writePEM(t, dir, "key.pem", pkcs8Block(t, cert.PrivateKey.(crypto.Signer)))
	otherKey := writePEM(t, dir, "other.pem", pkcs8Block(t, newKey(t)))

	certs, err := LoadStatic(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	up := selfSigned(t, leafSpec{dns: []string{"elsewhere.example"}}).Leaf
	for _, args := range []struct {
		server netip.Addr
		sni    string
		up     *x509.Certificate
	}{
		{netip.MustParseAddr("192.0.2.1"), "", nil},
		{netip.MustParseAddr("2001:db8::1"), "other.example", up},
	} {
		got, err := certs.ForServer(args.server, args.sni, args.up)
		if err != nil {
			t.Fatal(err)
		}
		if got.Leaf == nil || !got.Leaf.Equal(cert.Leaf) || len(got.Certificate) != 2 {
			t.Errorf("ForServer(%v, %q) did not return the static certificate with its chain", args.server, args.sni)
		}
	}

	bad := []struct {
		name, certFile, keyFile, wantErr string
	}{
		{"missing", filepath.Join(dir, "nope.pem"), keyFile, "no such file"},
		{"mismatched key", certFile, otherKey, "private key does not match"},
		{"swapped", keyFile, certFile, "ftptls: load certificate"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadStatic(tt.certFile, tt.keyFile)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "ftptls: ") {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
