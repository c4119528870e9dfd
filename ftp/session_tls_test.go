package ftp

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/policy"
)

// selfSignedCerts is a certificate source with one self-signed certificate for 127.0.0.1.
func selfSignedCerts(t *testing.T) policy.CertSource {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ftpgate test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return ftptls.NewStatic(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
}

// plainServer is a scripted server without TLS: it refuses AUTH and answers the rest.
func plainServer(c *ftptest.Conn, line string) {
	switch verb, _, _ := strings.Cut(line, " "); verb {
	case "AUTH":
		c.Reply("504 AUTH not supported here.")
	case "FEAT":
		c.Reply("211-Features:", " EPSV", " SIZE", "211 End")
	case "USER":
		c.Reply("331 Password?")
	case "PASS":
		c.Reply("230 Logged in.")
	default:
		c.Reply("200 " + verb + " ok.")
	}
}

// tlsHarness runs a session with client TLS toward the test's client and the given server
// leg setting and data protection, against a server without TLS.
func tlsHarness(t *testing.T, server policy.TLSLeg, prot policy.DataProtection) *harness {
	t.Helper()
	tp := policy.TLSPolicy{Client: policy.TLSOptional, Server: server, DataProtection: prot, Certs: selfSignedCerts(t)}.WithDefaults()
	return newHarnessWith(t, 30*time.Second, Config{Spoof: true, TLS: &TLSConfig{TLSPolicy: tp}}, plainServer)
}

// upgrade makes the harness's client connection TLS after a 234.
func (hs *harness) upgrade() {
	hs.t.Helper()
	tc := tls.Client(hs.client, &tls.Config{InsecureSkipVerify: true, ServerName: "127.0.0.1"})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		hs.t.Fatalf("client TLS handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	hs.client, hs.r = tc, bufio.NewReader(tc)
}

// readFull reads one (possibly multi-line) reply and returns its lines.
func (hs *harness) readFull() []string {
	hs.t.Helper()
	first := hs.readReply()
	lines := []string{first}
	if len(first) > 3 && first[3] == '-' {
		for {
			l := hs.readReply()
			lines = append(lines, l)
			if strings.HasPrefix(l, first[:3]+" ") {
				break
			}
		}
	}
	return lines
}

// TestSessionAuthRefusedByServer: with the default tls.server optional, a server's refusal
// of AUTH TLS reaches the client unchanged and the client's leg stays plain (no silent
// downgrade: the client decides); FEAT does not offer what the server cannot follow.
func TestSessionAuthRefusedByServer(t *testing.T) {
	hs := tlsHarness(t, policy.TLSOptional, "")
	feat := strings.Join(hs.cmdFull("FEAT"), "\n")
	if strings.Contains(feat, "AUTH TLS") {
		t.Errorf("FEAT offers AUTH TLS though the server has none:\n%s", feat)
	}
	if got := hs.cmd("AUTH TLS"); got != "504 AUTH not supported here." {
		t.Fatalf("AUTH TLS: client got %q, want the server's refusal", got)
	}
	if got := hs.cmd("USER u"); got != "331 Password?" {
		t.Fatalf("USER on the plain connection: %q", got)
	}
	hs.waitRecord("the server refused AUTH TLS; the client gets its refusal and its leg stays plain")
}

// TestSessionBridge: tls.server bridge lets the client's TLS end at ftpgate when the server
// refuses it; the 234, FEAT and the log say the server leg is plain.
func TestSessionBridge(t *testing.T) {
	hs := tlsHarness(t, policy.TLSBridge, "")
	feat := strings.Join(hs.cmdFull("FEAT"), "\n")
	if !strings.Contains(feat, " AUTH TLS") || !strings.Contains(feat, "server leg is plain") {
		t.Errorf("FEAT under bridge:\n%s", feat)
	}
	if got := hs.cmd("AUTH TLS"); !strings.HasPrefix(got, "234 ") || !strings.Contains(got, "server leg is plain") {
		t.Fatalf("AUTH TLS: %q", got)
	}
	hs.upgrade()
	if got := hs.cmd("USER u"); got != "331 Password?" {
		t.Fatalf("USER over TLS: %q", got)
	}
	hs.waitRecord("TLS bridge: the server refused AUTH TLS; the client leg is TLS, the server leg stays plain (tls.server: bridge)")
}

// TestSessionDataProtection: PROT C after PROT P is refused by default (sticky) and with
// required, passes with any; required refuses a transfer before PROT P with 521.
func TestSessionDataProtection(t *testing.T) {
	for _, tt := range []struct {
		prot             policy.DataProtection
		before, afterP   string // the replies to RETR before PROT P ("": not tried) and to PROT C after it
		protCBeforeProtP string // the reply to PROT C before any PROT P
	}{
		{"", "", "534 ", "200 "},
		{policy.ProtRequired, "521 ", "534 ", "534 "},
		{policy.ProtAny, "", "200 ", "200 "},
	} {
		name := string(tt.prot)
		if name == "" {
			name = "sticky (default)"
		}
		t.Run(name, func(t *testing.T) {
			hs := tlsHarness(t, policy.TLSRefused, tt.prot)
			if got := hs.cmd("AUTH TLS"); !strings.HasPrefix(got, "234 ") {
				t.Fatalf("AUTH TLS: %q", got)
			}
			hs.upgrade()
			hs.cmd("PBSZ 0")
			if got := hs.cmd("PROT C"); !strings.HasPrefix(got, tt.protCBeforeProtP) {
				t.Errorf("PROT C before PROT P: %q, want %s", got, tt.protCBeforeProtP)
			}
			if tt.before != "" {
				if got := hs.cmd("RETR x"); !strings.HasPrefix(got, tt.before) {
					t.Errorf("RETR before PROT P: %q, want %s", got, tt.before)
				}
			}
			if got := hs.cmd("PROT P"); !strings.HasPrefix(got, "200 ") {
				t.Fatalf("PROT P: %q", got)
			}
			if got := hs.cmd("PROT C"); !strings.HasPrefix(got, tt.afterP) {
				t.Errorf("PROT C after PROT P: %q, want %s", got, tt.afterP)
			}
			if got := hs.cmd("NOOP"); got != "200 NOOP ok." {
				t.Errorf("the session did not go on: %q", got)
			}
		})
	}
}

// cmdFull sends line and returns every line of the reply.
func (hs *harness) cmdFull(line string) []string {
	hs.t.Helper()
	hs.send(line)
	return hs.readFull()
}
