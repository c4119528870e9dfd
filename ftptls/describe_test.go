package ftptls

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
)

// TestDescribe checks the version and cipher names of real handshakes.
func TestDescribe(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	cert := ca.issue(t, leafSpec{ips: []string{"127.0.0.1"}})
	addr := startTLSServer(t, "tcp4", &tls.Config{Certificates: []tls.Certificate{cert}})
	tests := []struct {
		max         uint16
		wantVersion string
		wantPrefix  string
	}{
		{tls.VersionTLS12, "TLS1.2", "TLS_ECDHE_ECDSA_WITH_"},
		{tls.VersionTLS13, "TLS1.3", "TLS_AES_"},
	}
	for _, tt := range tests {
		t.Run(tt.wantVersion, func(t *testing.T) {
			cs, err := handshake(t, addr, &tls.Config{RootCAs: ca.pool(), ServerName: "127.0.0.1", MaxVersion: tt.max,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
			if err != nil {
				t.Fatal(err)
			}
			version, cipher := Describe(cs)
			if version != tt.wantVersion || !strings.HasPrefix(cipher, tt.wantPrefix) {
				t.Errorf("Describe = %q, %q; want %q, %s…", version, cipher, tt.wantVersion, tt.wantPrefix)
			}
		})
	}
	if v, c := Describe(tls.ConnectionState{}); v != "" || c != "" {
		t.Errorf("Describe of an unfinished handshake = %q, %q; want empty", v, c)
	}
}

// TestPinOf checks the pin format and that both accepted spellings decode to it.
func TestPinOf(t *testing.T) {
	cert := selfSigned(t, leafSpec{cn: "pinned"}).Leaf
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	pin := PinOf(cert)
	if want := "sha256/" + base64.StdEncoding.EncodeToString(sum[:]); pin != want {
		t.Fatalf("PinOf = %q, want %q", pin, want)
	}
	for _, spelling := range []string{pin, hexPin(tlsCert(cert)), strings.ToLower(hexPin(tlsCert(cert)))} {
		got, err := parsePin(spelling)
		if err != nil || got != sum {
			t.Errorf("parsePin(%q) = %x, %v; want %x", spelling, got, err, sum)
		}
	}
}

// tlsCert wraps a leaf for helpers that take a tls.Certificate.
func tlsCert(leaf *x509.Certificate) tls.Certificate { return tls.Certificate{Leaf: leaf} }
