package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// guardRun bounds one client run (a script, curl, lftp) of the guard tests.
const guardRun = 30 * time.Second

// guardBed is an FTPS bed (vsftpd with require_ssl_reuse, the gateway with a static
// certificate) whose server can be swapped for the scripted FTPS server
// testdata/ftpsserver.py for a while.
type guardBed struct {
	*ftpsBed
	vsftpdTLS                testbed.TLSOptions // to restart vsftpd after a scripted server
	certA, keyA, certB, keyB string             // the scripted server's two certificates
	scriptSum                string             // sha256 of the scripted server's small.bin
}

// newGuardBed starts vsftpd (explicit FTPS, require_ssl_reuse) and the gateway with the
// default TLS policy, and issues the scripted server's certificates A and B from the same CA
// as vsftpd's (so verify: ca trusts both).
func newGuardBed(t *testing.T) *guardBed {
	t.Helper()
	fb := newFTPSBed(t, testbed.TLSOptions{RequireReuse: true}, map[string]int64{"small.bin": small})
	g := &guardBed{ftpsBed: fb, vsftpdTLS: testbed.TLSOptions{
		CertFile: filepath.Join(fb.serverPKI.Dir, "vsftpd.crt"), KeyFile: filepath.Join(fb.serverPKI.Dir, "vsftpd.key"),
		RequireReuse: true}}
	servers := []netip.Addr{fb.tp.ServerV4, fb.tp.ServerV6}
	var err error
	if g.certA, g.keyA, err = fb.serverPKI.Issue("scripted-a", nil, servers); err != nil {
		t.Fatal(err)
	}
	if g.certB, g.keyB, err = fb.serverPKI.Issue("scripted-b", nil, servers); err != nil {
		t.Fatal(err)
	}
	content := make([]byte, small)
	for i := range content {
		content[i] = byte(i % 251)
	}
	sum := sha256.Sum256(content)
	g.scriptSum = hex.EncodeToString(sum[:])
	return g
}

// runCtx is a context for one client run, at most guardRun.
func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guardRun)
	t.Cleanup(cancel)
	return ctx
}

// attack runs testdata/ftpsattack.py ACTION small.bin against addr in the client namespace,
// verifying the gateway's certificate, and returns its steps by name.
func (g *guardBed) attack(t *testing.T, addr netip.Addr, action string) map[string]map[string]any {
	t.Helper()
	script, err := filepath.Abs("testdata/ftpsattack.py")
	if err != nil {
		t.Fatal(err)
	}
	mark := len(strings.Split(g.gw.LogText(), "\n"))
	out, stderr, err := g.tp.Exec(runCtx(t), g.tp.Client, "python3", script, addr.String(), g.srv.User, g.srv.Pass,
		g.gwPKI.CACert, action, "small.bin")
	if err != nil {
		t.Fatalf("ftpsattack %s %s: %v\n%s%s", action, addr, err, out, stderr)
	}
	lines := strings.Split(g.gw.LogText(), "\n")
	meanwhile := tail(strings.Join(lines[min(mark, len(lines))-1:], "\n"), 40)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ftpsattack %s %s:\n%s\ngateway log meanwhile:\n%s", action, addr, out, meanwhile)
		}
	})
	return parseSteps(t, out)
}

// field is one field of one step as text ("<nil>" when missing).
func field(st map[string]map[string]any, step, key string) string {
	return fmt.Sprint(st[step][key])
}

// wantRetr checks a RETR step: the final reply's code, and for a 2xx the whole file.
func wantRetr(t *testing.T, st map[string]map[string]any, code, sum string) {
	t.Helper()
	r := st["RETR"]
	if !strings.HasPrefix(fmt.Sprint(r["reply"]), code) {
		t.Errorf("RETR: final reply %q (data error %v), want %s", r["reply"], r["data_error"], code)
		return
	}
	if strings.HasPrefix(code, "2") && (r["bytes"] != float64(small) || r["sha256"] != sum) {
		t.Errorf("RETR: %v bytes, sha256 %v; want the whole file (%d bytes)", r["bytes"], r["sha256"], small)
	}
	if !strings.HasPrefix(code, "2") && r["bytes"] != float64(0) {
		t.Errorf("RETR refused with %s, yet the client got %v bytes", code, r["bytes"])
	}
}

// wantNOOP checks that the session went on: the NOOP step got 200.
func wantNOOP(t *testing.T, st map[string]map[string]any) {
	t.Helper()
	if r := field(st, "NOOP", "reply"); !strings.HasPrefix(r, "200") {
		t.Errorf("the session did not go on: NOOP reply %q", r)
	}
}

// logMark is the number of gateway log records so far, for waitLog and transferSince.
func (g *guardBed) logMark() int { return len(g.gw.Logs("")) }

// waitLog waits up to 5 s for a gateway log record after mark whose msg contains sub.
func (g *guardBed) waitLog(mark int, sub string) bool {
	for i := 0; i < 100; i++ {
		logs := g.gw.Logs("")
		for _, m := range logs[min(mark, len(logs)):] {
			if msg, _ := m["msg"].(string); strings.Contains(msg, sub) {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// transferSince waits up to 5 s for a transfer record of command after mark and returns it.
func (g *guardBed) transferSince(mark int, command string) map[string]any {
	for i := 0; i < 100; i++ {
		logs := g.gw.Logs("")
		for _, m := range logs[min(mark, len(logs)):] {
			if m["msg"] == "transfer" && m["command"] == command {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// vsftpdCount counts the commands line (e.g. "PROT C") in vsftpd's protocol log.
func (g *guardBed) vsftpdCount(t *testing.T, logName, line string) int {
	t.Helper()
	c, err := os.ReadFile(filepath.Join(g.tp.Dir, "vsftpd", logName))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(c), `"`+line+`"`)
}

// withScripted stops vsftpd, runs testdata/ftpsserver.py in mode on both server addresses
// (port 21) while fn runs, then stops it and brings vsftpd back, even when fn fails.
func (g *guardBed) withScripted(t *testing.T, mode string, fn func()) {
	t.Helper()
	script, err := filepath.Abs("testdata/ftpsserver.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Stop(); err != nil {
		t.Logf("stopping vsftpd: %v", err)
	}
	defer g.restartVsftpd(t)
	p, err := g.tp.Start(g.tp.Server, "python3", script, mode, g.srv.User, g.srv.Pass, strconv.Itoa(small),
		g.certA, g.keyA, g.certB, g.keyB, g.tp.ServerV4.String(), g.tp.ServerV6.String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(p.Log)
			t.Logf("scripted server log:\n%s", tail(string(b), 40))
		}
		p.Stop()
	}()
	for _, a := range []netip.Addr{g.tp.ServerV4, g.tp.ServerV6} {
		if err := g.waitGreeting(p, netip.AddrPortFrom(a, 21)); err != nil {
			t.Fatalf("scripted server (%s): %v", mode, err)
		}
	}
	fn()
}

// waitGreeting polls ap from the server namespace for up to 10 s until it answers 220.
func (g *guardBed) waitGreeting(p *testbed.Proc, ap netip.AddrPort) error {
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-p.Done():
			b, _ := os.ReadFile(p.Log)
			return fmt.Errorf("exited: %v\n%s", p.Err(), b)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := g.tp.DialContext(ctx, g.tp.Server, "tcp", ap.String())
		cancel()
		if err != nil {
			last = err
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("QUIT\r\n"))
		c.Close()
		if err == nil && strings.HasPrefix(line, "220") {
			return nil
		}
		last = fmt.Errorf("greeting %q: %v", line, err)
	}
	return fmt.Errorf("%s not ready: %v", ap, last)
}

// restartVsftpd starts vsftpd again (same certificate, roots and files) after a scripted
// server.
func (g *guardBed) restartVsftpd(t *testing.T) {
	srv, err := g.tp.StartVsftpdWith(runCtx(t), testbed.VsftpdOptions{TLS: &g.vsftpdTLS})
	if err != nil {
		t.Fatalf("restarting vsftpd: %v", err)
	}
	g.srv = srv
}

// afterwards checks that normal FTPS works through the gateway under the default TLS policy
// right after an attack: curl, lftp and a resuming ftplib each fetch small.bin from vsftpd on
// addr (EPSV), verifying the gateway's certificate.
func (g *guardBed) afterwards(t *testing.T, addr netip.Addr) {
	t.Helper()
	g.tlsPolicy(t, g.staticTLS(""))
	tag := strings.ReplaceAll(addr.String(), ":", "_")
	ca := g.gwPKI.CACert
	dst := filepath.Join(g.tp.Dir, "guard-curl-"+tag)
	if tr, err := scenario.CurlTLSVerify(runCtx(t), g.tp, scenario.EPSV, ca, "-o", dst, scenario.URL(g.srv, addr, "small.bin")); err != nil {
		t.Errorf("curl after the attack: %v\n%s", err, tail(tr, 20))
	} else if sha(t, dst) != g.sums["small.bin"] {
		t.Error("curl after the attack: checksum differs")
	}
	dst = filepath.Join(g.tp.Dir, "guard-lftp-"+tag)
	os.Remove(dst) // lftp does not overwrite an earlier run's file
	if tr, err := scenario.LftpTLSVerify(runCtx(t), g.tp, g.srv, addr, scenario.EPSV, ca, "get small.bin -o "+dst); err != nil {
		t.Errorf("lftp after the attack: %v\n%s", err, tail(tr, 20))
	} else if sha(t, dst) != g.sums["small.bin"] {
		t.Error("lftp after the attack: checksum differs")
	}
	st := g.attack(t, addr, "resumingftplib")
	if r := st["RETR"]; !strings.HasPrefix(fmt.Sprint(r["reply"]), "226") || r["sha256"] != g.sums["small.bin"] {
		t.Errorf("resuming ftplib after the attack: %v", r)
	}
}
