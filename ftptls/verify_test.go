package ftptls

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// TestVerifyModes runs every verification mode against loopback servers with a
// certificate from the test CA, a self-signed one, an expired one and one for another name.
func TestVerifyModes(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	dir := t.TempDir()
	caFile := writePEM(t, dir, "ca.pem", certBlock(ca.cert))

	good := ca.issue(t, leafSpec{cn: "ftp.test", dns: []string{"ftp.test", "localhost"}, ips: []string{"127.0.0.1", "::1"}})
	self := selfSigned(t, leafSpec{cn: "ftp.test", dns: []string{"ftp.test"}, ips: []string{"127.0.0.1"}})
	expired := ca.issue(t, leafSpec{cn: "ftp.test", ips: []string{"127.0.0.1"},
		notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	wrongName := ca.issue(t, leafSpec{cn: "other.test", dns: []string{"other.test"}})

	servers := map[string]string{}
	for name, cert := range map[string]tls.Certificate{"good": good, "self": self, "expired": expired, "wrongName": wrongName} {
		servers[name] = startTLSServer(t, "tcp4", &tls.Config{Certificates: []tls.Certificate{cert}})
	}

	const ok = ""
	tests := []struct {
		name   string
		verify Verify
		want   map[string]string // server → Reason of the failure, ok for success
	}{
		{"default", Verify{}, map[string]string{"good": "unknown authority", "self": "unknown authority", "expired": "expired", "wrongName": "name mismatch"}},
		{"system", Verify{Mode: "system"}, map[string]string{"good": "unknown authority", "self": "unknown authority"}},
		{"ca", Verify{Mode: "ca", CAFile: caFile}, map[string]string{"good": ok, "self": "unknown authority", "expired": "expired", "wrongName": "name mismatch"}},
		{"pin", Verify{Mode: "pin", Pins: []string{PinOf(good.Leaf)}}, map[string]string{"good": ok, "self": "pin mismatch", "expired": "pin mismatch", "wrongName": "pin mismatch"}},
		{"pin two, hex", Verify{Mode: "pin", Pins: []string{PinOf(good.Leaf), hexPin(self)}}, map[string]string{"good": ok, "self": ok, "expired": "pin mismatch"}},
		{"insecure", Verify{Mode: "insecure"}, map[string]string{"good": ok, "self": ok, "expired": ok, "wrongName": ok}},
	}
	for _, tt := range tests {
		for server, want := range tt.want {
			t.Run(tt.name+"/"+server, func(t *testing.T) {
				cfg, err := tt.verify.ClientConfig("127.0.0.1", tls.NewLRUClientSessionCache(4))
				if err != nil {
					t.Fatal(err)
				}
				_, err = handshake(t, servers[server], cfg)
				if got := Reason(err); got != want {
					t.Fatalf("Reason = %q, want %q (error: %v)", got, want, err)
				}
				if want != ok && !strings.HasPrefix(err.Error(), "ftptls: verify server 127.0.0.1: "+want+": ") {
					t.Errorf("error %q does not say %q", err, want)
				}
			})
		}
	}
}

// hexPin returns the pin of cert's leaf as 64 hex digits.
func hexPin(cert tls.Certificate) string {
	sum := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// TestVerifyIPv6Name checks that an IPv6 literal name is checked against the IP SANs.
func TestVerifyIPv6Name(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	caFile := writePEM(t, t.TempDir(), "ca.pem", certBlock(ca.cert))
	tests := []struct {
		ips  []string
		want string
	}{
		{[]string{"::1"}, ""},
		{[]string{"127.0.0.1"}, "name mismatch"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.ips, ","), func(t *testing.T) {
			cert := ca.issue(t, leafSpec{cn: "v6", ips: tt.ips})
			addr := startTLSServer(t, "tcp6", &tls.Config{Certificates: []tls.Certificate{cert}})
			cfg, err := Verify{Mode: "ca", CAFile: caFile}.ClientConfig("::1", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = handshake(t, addr, cfg)
			if got := Reason(err); got != tt.want {
				t.Fatalf("Reason = %q, want %q (error: %v)", got, tt.want, err)
			}
		})
	}
}

// TestVerifyValidate checks the settings Validate and ClientConfig refuse.
func TestVerifyValidate(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	dir := t.TempDir()
	caFile := writePEM(t, dir, "ca.pem", certBlock(ca.cert))
	keyOnly := writePEM(t, dir, "key.pem", pkcs8Block(t, ca.key))
	garbage := writePEM(t, dir, "garbage.pem", &pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")})
	pin := PinOf(ca.cert)

	tests := []struct {
		name    string
		verify  Verify
		wantErr string // "" for valid
	}{
		{"default", Verify{}, ""},
		{"system", Verify{Mode: "system"}, ""},
		{"insecure", Verify{Mode: "insecure"}, ""},
		{"ca", Verify{Mode: "ca", CAFile: caFile}, ""},
		{"pin base64", Verify{Mode: "pin", Pins: []string{pin}}, ""},
		{"pin hex", Verify{Mode: "pin", Pins: []string{strings.Repeat("ab", 32)}}, ""},
		{"unknown mode", Verify{Mode: "trust-me"}, `unknown mode "trust-me"`},
		{"ca without file", Verify{Mode: "ca"}, "needs a CA file"},
		{"ca missing file", Verify{Mode: "ca", CAFile: dir + "/missing.pem"}, "no such file"},
		{"ca file without certificate", Verify{Mode: "ca", CAFile: keyOnly}, "no PEM CERTIFICATE block"},
		{"ca file garbage", Verify{Mode: "ca", CAFile: garbage}, "certificate 1"},
		{"ca file in system mode", Verify{CAFile: caFile}, "only used in mode ca"},
		{"pin without pins", Verify{Mode: "pin"}, "at least one pin"},
		{"pins in insecure mode", Verify{Mode: "insecure", Pins: []string{pin}}, "only used in mode pin"},
		{"pin short base64", Verify{Mode: "pin", Pins: []string{"sha256/AAAA"}}, "3 bytes, want 32"},
		{"pin bad base64", Verify{Mode: "pin", Pins: []string{"sha256/!!"}}, "illegal base64"},
		{"pin bad hex", Verify{Mode: "pin", Pins: []string{strings.Repeat("zz", 32)}}, "invalid byte"},
		{"pin other form", Verify{Mode: "pin", Pins: []string{"md5/abc"}}, "want sha256/BASE64 or 64 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.verify.Validate()
			_, cfgErr := tt.verify.ClientConfig("ftp.test", nil)
			for _, err := range []error{err, cfgErr} {
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("unexpected error: %v", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				case err != nil && !strings.HasPrefix(err.Error(), "ftptls: "):
					t.Fatalf("error %q lacks the ftptls: prefix", err)
				}
			}
		})
	}
}

// TestClientConfig checks the fields ClientConfig sets per mode.
func TestClientConfig(t *testing.T) {
	ca := newTestCA(t, "ftptls test CA")
	caFile := writePEM(t, t.TempDir(), "ca.pem", certBlock(ca.cert))
	cache := tls.NewLRUClientSessionCache(4)
	tests := []struct {
		verify     Verify
		wantVerify bool
	}{
		{Verify{}, true},
		{Verify{Mode: "ca", CAFile: caFile}, true},
		{Verify{Mode: "pin", Pins: []string{PinOf(ca.cert)}}, true},
		{Verify{Mode: "insecure"}, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.verify.EffectiveMode()), func(t *testing.T) {
			cfg, err := tt.verify.ClientConfig("ftp.test", cache)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ServerName != "ftp.test" || cfg.ClientSessionCache != cache {
				t.Errorf("ServerName %q, cache %v: want ftp.test and the given cache", cfg.ServerName, cfg.ClientSessionCache)
			}
			if cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 {
				t.Errorf("versions %x..%x, want TLS 1.2..1.3", cfg.MinVersion, cfg.MaxVersion)
			}
			// The checks run in VerifyConnection, so the built-in check must be off.
			if !cfg.InsecureSkipVerify || (cfg.VerifyConnection != nil) != tt.wantVerify {
				t.Errorf("InsecureSkipVerify %v, VerifyConnection %v (want %v)", cfg.InsecureSkipVerify, cfg.VerifyConnection != nil, tt.wantVerify)
			}
		})
	}
	if _, err := (Verify{}).ClientConfig("", nil); err == nil || !strings.Contains(err.Error(), "empty server name") {
		t.Errorf("empty name: error = %v", err)
	}
}
