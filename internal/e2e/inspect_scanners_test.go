package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// scanClient is one client's way through the scanner matrix: RETR or STOR one file, plain
// or FTPS.
type scanClient struct {
	name string
	get  func(ctx context.Context, ftps bool, name, dst string) (string, error)
	put  func(ctx context.Context, ftps bool, src, name string) (string, error)
}

// scanClients are curl (EPSV) and lftp (PORT) against fb's server, plain or FTPS (trusting
// the gateway's CA).
func scanClients(fb *ftpsBed) []scanClient {
	b, ca := fb.bed, fb.gwPKI.CACert
	url := func(name string) string { return scenario.URL(b.srv, b.tp.ServerV4, name) }
	lftp := func(ctx context.Context, ftps bool, script string) (string, error) {
		if ftps {
			return scenario.LftpTLSVerify(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PORT, ca, script)
		}
		return scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PORT, script)
	}
	curl := func(ctx context.Context, ftps bool, args ...string) (string, error) {
		if ftps {
			return scenario.CurlTLSVerify(ctx, b.tp, scenario.EPSV, ca, args...)
		}
		return scenario.Curl(ctx, b.tp, scenario.EPSV, args...)
	}
	return []scanClient{
		{"curl",
			func(ctx context.Context, ftps bool, name, dst string) (string, error) {
				return curl(ctx, ftps, "-o", dst, url(name))
			},
			func(ctx context.Context, ftps bool, src, name string) (string, error) {
				return curl(ctx, ftps, "-T", src, url(name))
			}},
		{"lftp",
			func(ctx context.Context, ftps bool, name, dst string) (string, error) {
				return lftp(ctx, ftps, "get "+name+" -o "+dst)
			},
			func(ctx context.Context, ftps bool, src, name string) (string, error) {
				return lftp(ctx, ftps, "put "+src+" -o "+name)
			}},
	}
}

// TestScanners: EICAR refused by a real virus scanner through ICAP (c-icap with
// virus_scan and clamd) and through the exec scanner (clamdscan on the same clamd), on
// RETR and STOR, plain and FTPS, with curl and lftp. The client sees the refusal (its exit
// status), the destination has no copy (a download's file holds none of it; an upload
// leaves nothing on the server's disk), and the audit record names the signature; clean
// files pass with their sha256 intact. An ICAP server that cannot be reached refuses under
// fail: closed and passes under fail: open, both recorded. A chunk hook rewrites FTPS
// downloads as it does plain ones.
func TestScanners(t *testing.T) {
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	fb := newFTPSBed(t, testbed.TLSOptions{RequireReuse: true}, map[string]int64{"clean.bin": small}, "-audit-log", auditPath)
	b := fb.bed
	ctx := b.ctx(t)
	sc, err := b.tp.StartScanner(ctx, b.tp.Server, b.tp.ServerV4, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop() })
	if err := os.WriteFile(filepath.Join(b.srv.Root, "eicar.txt"), testbed.EICAR(), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(b.tp.Dir, "up-eicar.txt")
	if err := os.WriteFile(bad, testbed.EICAR(), 0o644); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(b.tp.Dir, "up-clean.bin")
	cleanSum, err := testbed.MakeFile(clean, small+321)
	if err != nil {
		t.Fatal(err)
	}
	policy := func(hook, fail string) string {
		return fb.staticTLS("") + "    inspect:\n      download: inspect\n      upload: inspect\n      hooks: [av]\n      fail: " + fail +
			"\nhooks:\n  av:\n" + hook
	}
	scanners := []struct{ name, hook string }{
		{"icap", "    icap: " + sc.URL("avscan") + "\n    timeout: 30s\n"},
		{"exec", "    exec: [clamdscan, --config-file=" + sc.ClamdConf + ", --no-summary, -]\n"},
	}
	for _, s := range scanners {
		fb.tlsPolicy(t, policy(s.hook, "closed"))
		for _, ftps := range []bool{false, true} {
			for _, c := range scanClients(fb) {
				name := fmt.Sprintf("%s-%s-%v", s.name, c.name, map[bool]string{false: "plain", true: "ftps"}[ftps])
				t.Run(name, func(t *testing.T) { scanRound(t, ctx, fb, c, ftps, name, bad, clean, cleanSum) })
			}
		}
	}
	for _, fail := range []string{"closed", "open"} {
		t.Run("ICAP server down, fail "+fail, func(t *testing.T) {
			fb.tlsPolicy(t, policy("    icap: icap://"+b.tp.ServerV4.String()+":1345/avscan\n    timeout: 10s\n", fail))
			dst := filepath.Join(b.tp.Dir, "down-"+fail)
			n := len(recordsOf(b, "clean.bin"))
			_, err := scanClients(fb)[0].get(ctx, false, "clean.bin", dst)
			if (err == nil) != (fail == "open") {
				t.Fatalf("fail %s: curl error %v", fail, err)
			}
			if fail == "open" && sha(t, dst) != b.sums["clean.bin"] {
				t.Fatal("fail open: checksum differs")
			}
			rec := newRecord(t, b, "clean.bin", n)
			if v := fmt.Sprint(rec["verdicts"]); !strings.Contains(v, "failed:true") || !strings.Contains(v, "ICAP server") {
				t.Errorf("fail %s: verdicts %v", fail, rec["verdicts"])
			}
		})
	}
	t.Run("chunk hook over FTPS", func(t *testing.T) {
		script := filepath.Join(t.TempDir(), "hooks.star")
		if err := os.WriteFile(script, []byte(scriptHooks), 0o644); err != nil {
			t.Fatal(err)
		}
		fb.tlsPolicy(t, fb.staticTLS("")+"    inspect: {download: chunk, hooks: [dollars]}\nscript: "+script+"\nhooks:\n  dollars: {chunk: dollars}\n")
		text := []byte(strings.Repeat("this line says something secret\n", 4096))
		if err := os.WriteFile(filepath.Join(b.srv.Root, "text.txt"), text, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range scanClients(fb) {
			dst := filepath.Join(b.tp.Dir, c.name+"-ftps-text.txt")
			if tr, err := c.get(ctx, true, "text.txt", dst); err != nil {
				t.Fatalf("%s: %v\n%s", c.name, err, tail(tr, 10))
			}
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, bytes.ReplaceAll(text, []byte("s"), []byte("$"))) {
				t.Errorf("%s got %d bytes, not the rewritten text", c.name, len(got))
			}
		}
	})
	if err := b.gw.Stop(); err != nil {
		t.Fatal(err)
	}
	checkScanAudit(t, readAudit(t, auditPath), 2*2*2)
}

// scanRound is one client's round through one scanner: EICAR down and up refused, clean
// files down and up whole.
func scanRound(t *testing.T, ctx context.Context, fb *ftpsBed, c scanClient, ftps bool, name, bad, clean, cleanSum string) {
	b := fb.bed
	dst := filepath.Join(b.tp.Dir, name+"-eicar.txt")
	if tr, err := c.get(ctx, ftps, "eicar.txt", dst); err == nil {
		t.Errorf("RETR eicar.txt succeeded:\n%s", tail(tr, 10))
	}
	if got, _ := os.ReadFile(dst); strings.Contains(string(got), "EICAR") {
		t.Errorf("the client has a copy of eicar.txt (%d bytes)", len(got))
	}
	target := name + "-up-eicar.txt"
	if tr, err := c.put(ctx, ftps, bad, target); err == nil {
		t.Errorf("STOR of EICAR succeeded:\n%s", tail(tr, 10))
	}
	if _, err := os.Stat(filepath.Join(b.srv.Root, target)); !os.IsNotExist(err) {
		t.Errorf("the refused upload is on the server's disk: %v", err)
	}
	dst = filepath.Join(b.tp.Dir, name+"-clean.bin")
	if tr, err := c.get(ctx, ftps, "clean.bin", dst); err != nil {
		t.Fatalf("RETR clean.bin: %v\n%s", err, tail(tr, 10))
	}
	if sha(t, dst) != b.sums["clean.bin"] {
		t.Error("RETR clean.bin: checksum differs")
	}
	target = name + "-up-clean.bin"
	if tr, err := c.put(ctx, ftps, clean, target); err != nil {
		t.Fatalf("STOR clean: %v\n%s", err, tail(tr, 10))
	}
	if got := sha(t, filepath.Join(b.srv.Root, target)); got != cleanSum {
		t.Errorf("STOR clean: server file sha256 %s, want %s", got, cleanSum)
	}
}

// checkScanAudit checks the audit records of TestScanners: every EICAR transfer (rounds of
// each direction) refused with the signature named, every clean one of the rounds passed
// with its sha256, and the FTPS ones with their TLS recorded.
func checkScanAudit(t *testing.T, recs []map[string]any, rounds int) {
	t.Helper()
	var refused, passed int
	for _, m := range recs {
		arg, _ := m["arg"].(string)
		vs := fmt.Sprint(m["verdicts"])
		if m["record"] != "transfer" || strings.Contains(vs, ":1345") || (!strings.Contains(arg, "eicar") && !strings.Contains(arg, "clean")) {
			continue // not a round's transfer, or one of the ICAP-down runs
		}
		ftps := m["tls_client"] != nil
		switch {
		case strings.Contains(arg, "eicar"):
			refused++
			if m["refused"] != true || !strings.Contains(vs, "Eicar-Test-Signature") || m["complete"] != false {
				t.Errorf("EICAR record %v", m)
			}
		case m["refused"] == true || !strings.Contains(vs, "allow:true") || m["sha256"] == "" || m["complete"] != true:
			t.Errorf("clean record %v", m)
		default:
			passed++
		}
		if strings.Contains(arg, "ftps") && !ftps {
			t.Errorf("an FTPS upload's record has no tls_client: %v", m)
		}
	}
	// Each round: EICAR down and up, clean down and up; the ICAP-down runs are not counted.
	if refused != 2*rounds || passed < 2*rounds {
		t.Errorf("audit: %d refused EICAR records (want %d), %d clean passed (want ≥ %d)", refused, 2*rounds, passed, 2*rounds)
	}
}
