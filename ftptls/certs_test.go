package ftptls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestNewStatic checks that NewStatic fills in a missing Leaf and ignores its arguments.
func TestNewStatic(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	cert := ca.issue(t, leafSpec{cn: "gw.example"})
	want := cert.Leaf
	for _, tt := range []struct {
		name string
		leaf *x509.Certificate
	}{{"with leaf", want}, {"without leaf", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			in := cert
			in.Leaf = tt.leaf
			got, err := NewStatic(in).ForServer(netip.MustParseAddr("192.0.2.1"), "x.example", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Leaf == nil || !got.Leaf.Equal(want) {
				t.Errorf("Leaf = %v, want the certificate's leaf", got.Leaf)
			}
		})
	}
}

// recordingCerts records the arguments of ForServer and returns err.
type recordingCerts struct {
	server   netip.Addr
	sni      string
	upstream *x509.Certificate
	err      error
}

// ForServer records its arguments.
func (r *recordingCerts) ForServer(server netip.Addr, sni string, upstream *x509.Certificate) (*tls.Certificate, error) {
	r.server, r.sni, r.upstream = server, sni, upstream
	return &tls.Certificate{}, r.err
}

// TestServerConfigGetCertificate checks what ServerConfig passes to Certs.
func TestServerConfigGetCertificate(t *testing.T) {
	server := netip.MustParseAddr("2001:db8::21")
	up := selfSigned(t, leafSpec{dns: []string{"up.example"}}).Leaf
	tests := []struct {
		name         string
		upstream     func() *x509.Certificate
		certsErr     error
		wantUpstream *x509.Certificate
		wantErr      string
	}{
		{"upstream known", func() *x509.Certificate { return up }, nil, up, ""},
		{"upstream unknown", func() *x509.Certificate { return nil }, nil, nil, ""},
		{"no upstream func", nil, nil, nil, ""},
		{"certs fail", nil, errors.New("boom"), nil, `ftptls: certificate for 2001:db8::21 (SNI "sni.example"): boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingCerts{err: tt.certsErr}
			cfg := ServerConfig(rec, server, tt.upstream)
			if cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 || cfg.SessionTicketsDisabled {
				t.Errorf("versions %x..%x, tickets disabled %v", cfg.MinVersion, cfg.MaxVersion, cfg.SessionTicketsDisabled)
			}
			_, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "sni.example"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.server != server || rec.sni != "sni.example" || rec.upstream != tt.wantUpstream {
				t.Errorf("ForServer(%v, %q, %p), want (%v, sni.example, %p)", rec.server, rec.sni, rec.upstream, server, tt.wantUpstream)
			}
		})
	}
}
