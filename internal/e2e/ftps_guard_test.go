package e2e

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// TestFTPSGuards: FTPS without downgrades. Through the gateway, with the default TLS policy
// (server: optional, data_protection: sticky, client_data_reuse: required):
//
//   - a client's PROT C after PROT P gets 534 and never reaches the server;
//   - a second party on the client's own address (as behind a NAT) that reaches the passive
//     data port first with a fresh TLS handshake gets nothing, and the client's RETR ends 522;
//   - a server that refuses AUTH TLS: the client gets that refusal unchanged and stays plain
//     (server: bridge instead gives the client TLS, says the server leg is plain, and marks
//     the transfer record tls_bridge);
//   - a server whose data connections present another certificate than its control
//     connection: the transfer ends 425 and the session goes on, under verify: ca and insecure.
//
// Each attack runs on IPv4 and IPv6, and curl, lftp and a resuming ftplib work right after.
// A data connection whose TLS handshake never starts ends its transfer with 425 after the
// connect timeout; the session goes on.
// Also: stock ftplib (no session resumption on data connections) is refused with 522 unless
// client_data_reuse: optional; data_protection: any forwards PROT C, required refuses PROT C
// and a transfer without PROT P (521). The scripted peers are testdata/ftpsattack.py (client
// side) and testdata/ftpsserver.py (a stand-in server, replacing vsftpd for a while).
func TestFTPSGuards(t *testing.T) {
	g := newGuardBed(t)
	fams := []struct {
		name string
		addr netip.Addr
		log  string // vsftpd's protocol log of the family
	}{{"v4", g.tp.ServerV4, "vsftpd4.log"}, {"v6", g.tp.ServerV6, "vsftpd6.log"}}
	def := g.staticTLS("")

	for _, f := range fams {
		t.Run("PROT C sticky/"+f.name, func(t *testing.T) {
			g.tlsPolicy(t, def)
			before := g.vsftpdCount(t, f.log, "PROT C")
			st := g.attack(t, f.addr, "protc")
			if r := field(st, "PROT P", "reply"); !strings.HasPrefix(r, "200") {
				t.Fatalf("PROT P: %q", r)
			}
			if r := field(st, "PROT C", "reply"); !strings.HasPrefix(r, "534") {
				t.Errorf("PROT C after PROT P: reply %q, want 534 from the gateway", r)
			}
			if n := g.vsftpdCount(t, f.log, "PROT C"); n != before {
				t.Errorf("PROT C reached the server (%d times in %s, %d before)", n, f.log, before)
			}
			if p := field(st, "RETR", "prot"); p != "P" {
				t.Errorf("the client's data protection after PROT C: %s, want P (PROT C refused)", p)
			}
			wantRetr(t, st, "226", g.sums["small.bin"])
			wantNOOP(t, st)
			g.afterwards(t, f.addr)
		})

		t.Run("silent data handshake/"+f.name, func(t *testing.T) {
			// A data connection whose TLS handshake never starts: ftpgate gives up after
			// -connect-timeout (10 s, the default) and the transfer ends with 425; the
			// session goes on.
			g.tlsPolicy(t, def)
			st := g.attack(t, f.addr, "silentdata")
			if r := field(st, "client", "reply"); !strings.HasPrefix(r, "425") {
				t.Errorf("RETR whose data connection never starts TLS: final reply %q after %s s, want 425",
					r, field(st, "client", "waited"))
			}
			wantNOOP(t, st)
		})

		t.Run("NAT thief/"+f.name, func(t *testing.T) {
			g.tlsPolicy(t, def)
			mark := g.logMark()
			st := g.attack(t, f.addr, "natthief")
			if r := field(st, "PROT P", "reply"); !strings.HasPrefix(r, "200") {
				t.Fatalf("PROT P: %q", r)
			}
			if th := st["thief"]; th["bytes"] != float64(0) {
				t.Errorf("a second party on the client's address got %v bytes of the file with a fresh TLS handshake: %v", th["bytes"], th)
			}
			if r := field(st, "client", "reply"); !strings.HasPrefix(r, "522") {
				// The gateway knows the transfer is lost once it refused the thief: the 522
				// must not wait for the server's own accept timeout (vsftpd: 60 s).
				t.Errorf("the client's RETR after the stolen data connection: final reply %q after %s s, want 522 within 20 s",
					r, field(st, "client", "waited"))
			}
			if !g.waitLog(mark, "does not resume") {
				t.Error(`no log record says the data connection "does not resume" the control session`)
			}
			wantNOOP(t, st)
			g.afterwards(t, f.addr)
		})
	}

	t.Run("PROT C any", func(t *testing.T) {
		g.tlsPolicy(t, g.staticTLS("      data_protection: any\n"))
		before := g.vsftpdCount(t, "vsftpd4.log", "PROT C")
		st := g.attack(t, g.tp.ServerV4, "protc")
		if r := field(st, "PROT C", "reply"); !strings.HasPrefix(r, "200") {
			t.Errorf("PROT C under data_protection: any: %q, want the server's 200", r)
		}
		if g.vsftpdCount(t, "vsftpd4.log", "PROT C") == before {
			t.Error("PROT C under data_protection: any did not reach the server")
		}
		if p := field(st, "RETR", "prot"); p != "C" {
			t.Errorf("data protection after PROT C: %s, want C", p)
		}
		wantRetr(t, st, "226", g.sums["small.bin"])
	})

	t.Run("PROT required", func(t *testing.T) {
		g.tlsPolicy(t, g.staticTLS("      data_protection: required\n"))
		st := g.attack(t, g.tp.ServerV4, "protc")
		if r := field(st, "PROT C", "reply"); !strings.HasPrefix(r, "534") {
			t.Errorf("PROT C after PROT P under required: %q, want 534", r)
		}
		wantRetr(t, st, "226", g.sums["small.bin"])
		st = g.attack(t, g.tp.ServerV4, "protnone")
		if r := field(st, "PROT C", "reply"); !strings.HasPrefix(r, "534") {
			t.Errorf("PROT C (never PROT P) under required: %q, want 534", r)
		}
		wantRetr(t, st, "521", "")
		wantNOOP(t, st)
	})

	t.Run("stock ftplib", func(t *testing.T) {
		for _, f := range fams {
			g.tlsPolicy(t, def)
			mark := g.logMark()
			st := g.attack(t, f.addr, "stockftplib")
			wantRetr(t, st, "522", "")
			if !g.waitLog(mark, "does not resume") {
				t.Errorf("%s: no log record says the data connection does not resume", f.name)
			}
			wantNOOP(t, st)
			g.tlsPolicy(t, g.staticTLS("      client_data_reuse: optional\n"))
			st = g.attack(t, f.addr, "stockftplib")
			wantRetr(t, st, "226", g.sums["small.bin"])
		}
	})

	t.Run("resuming ftplib", func(t *testing.T) {
		g.tlsPolicy(t, def)
		for _, f := range fams {
			mark := g.logMark()
			st := g.attack(t, f.addr, "resumingftplib")
			wantRetr(t, st, "226", g.sums["small.bin"])
			if st["RETR"]["resumed"] != true {
				t.Errorf("%s: the client's data connection did not resume its session: %v", f.name, st["RETR"])
			}
			rec := g.transferSince(mark, "RETR")
			if rec == nil || rec["tls_client_resumed"] != true || rec["tls_server_resumed"] != true {
				t.Errorf("%s: transfer record %v; want tls_client_resumed and tls_server_resumed true", f.name, rec)
			}
		}
	})

	t.Run("scripted server", func(t *testing.T) {
		// The stand-in server itself: a resuming ftplib and curl fetch its file through the
		// gateway when it behaves (one certificate everywhere).
		g.withScripted(t, "normal", func() {
			g.tlsPolicy(t, def)
			for _, f := range fams {
				st := g.attack(t, f.addr, "resumingftplib")
				wantRetr(t, st, "226", g.scriptSum)
				dst := filepath.Join(g.tp.Dir, "scripted-curl-"+f.name)
				tr, err := scenario.CurlTLSVerify(runCtx(t), g.tp, scenario.EPSV, g.gwPKI.CACert, "-o", dst, scenario.URL(g.srv, f.addr, "small.bin"))
				if err != nil {
					t.Fatalf("curl from the scripted server: %v\n%s", err, tail(tr, 20))
				}
				if sha(t, dst) != g.scriptSum {
					t.Error("curl from the scripted server: checksum differs")
				}
			}
		})
	})

	t.Run("server refuses AUTH", func(t *testing.T) {
		g.withScripted(t, "noauth", func() {
			for _, f := range fams {
				t.Run("optional/"+f.name, func(t *testing.T) {
					g.tlsPolicy(t, def)
					mark := g.logMark()
					st := g.attack(t, f.addr, "authrefused")
					if r := field(st, "AUTH", "reply"); r != "504 AUTH not supported here." {
						t.Errorf("AUTH TLS refused by the server: the client got %q, want the server's reply unchanged", r)
					}
					if r := field(st, "login", "reply"); !strings.HasPrefix(r, "230") {
						t.Fatalf("plain login after the refused AUTH: %q", r)
					}
					wantRetr(t, st, "226", g.scriptSum)
					wantNOOP(t, st)
					if !g.waitLog(mark, "refused AUTH TLS") {
						t.Error(`no log record says the server "refused AUTH TLS"`)
					}
				})
				t.Run("bridge/"+f.name, func(t *testing.T) {
					g.tlsPolicy(t, g.staticTLS("      server: bridge\n"))
					mark := g.logMark()
					st := g.attack(t, f.addr, "bridge")
					if r := field(st, "AUTH", "reply"); !strings.HasPrefix(r, "234") || !strings.Contains(r, "server leg is plain") {
						t.Fatalf("AUTH TLS under server: bridge: %q, want 234 saying the server leg is plain", r)
					}
					if r := field(st, "FEAT", "last"); !strings.Contains(r, "server leg is plain") {
						t.Errorf("FEAT's last line %q does not say the server leg is plain", r)
					}
					wantRetr(t, st, "226", g.scriptSum)
					if !g.waitLog(mark, "TLS bridge") {
						t.Error(`no log record names the "TLS bridge"`)
					}
					if rec := g.transferSince(mark, "RETR"); rec == nil || rec["tls_bridge"] != true {
						t.Errorf("transfer record %v, want tls_bridge true", rec)
					}
				})
			}
		})
		for _, f := range fams {
			g.afterwards(t, f.addr)
		}
	})

	t.Run("certificate swap", func(t *testing.T) {
		insecure := fmt.Sprintf("      certificate: {cert: %s, key: %s}\n      verify: insecure\n", g.gwCert, g.gwKey)
		g.withScripted(t, "swapcert", func() {
			for _, c := range []struct {
				name, policy string
				addr         netip.Addr
			}{{"ca/v4", def, g.tp.ServerV4}, {"ca/v6", def, g.tp.ServerV6}, {"insecure/v4", insecure, g.tp.ServerV4}, {"insecure/v6", insecure, g.tp.ServerV6}} {
				t.Run(c.name, func(t *testing.T) {
					g.tlsPolicy(t, c.policy)
					mark := g.logMark()
					st := g.attack(t, c.addr, "swapcert")
					wantRetr(t, st, "425", "")
					if !g.waitLog(mark, "certificate differs") {
						t.Error(`no log record says the data connection's "certificate differs"`)
					}
					wantNOOP(t, st)
				})
			}
		})
		for _, f := range fams {
			g.afterwards(t, f.addr)
		}
	})
}
