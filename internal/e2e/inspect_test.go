package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// eicar is the EICAR anti-virus test file (68 bytes), assembled here so that this source
// file itself carries no signature a scanner would flag.
var eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*"

// clamDB writes a ClamAV signature database that knows only EICAR (the machines have no
// network and Debian ships no signatures): an .ndb body signature, which matches the
// string anywhere in a stream. It returns the directory.
func clamDB(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clamdb")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sig := fmt.Sprintf("Eicar-Test-Signature-NDB:0:*:%x\n", "EICAR-STANDARD-ANTIVIRUS-TEST-FILE")
	if err := os.WriteFile(filepath.Join(dir, "eicar.ndb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// inspectConfig is a gateway configuration whose policy puts downloads (mode) through the
// named hooks, with the hooks av (clamscan on db), broken (a scanner that cannot reach
// its daemon) and tap (writes the sha256 of every object it sees into tapDir).
func inspectConfig(mode, hooks, fail, db, tapDir string) string {
	return inspectConfigUp(mode, "none", hooks, fail, db, tapDir)
}

// inspectConfigUp is inspectConfig with uploads in mode up.
func inspectConfigUp(mode, up, hooks, fail, db, tapDir string) string {
	return fmt.Sprintf(`version: 1
hooks:
  av:
    exec: [clamscan, --no-summary, --stdout, -d, %s, -]
    timeout: 60s
  broken:
    exec: [sh, -c, "cat >/dev/null; echo cannot connect to clamd >&2; exit 2"]
  tap:
    exec: [sh, -c, "sha256sum | cut -d' ' -f1 > %s/$FTPGATE_SESSION-$FTPGATE_ARG.sum"]
  part:
    exec: [sh, -c, "echo $FTPGATE_REST $(sha256sum | cut -d' ' -f1) > %[2]s/part-$FTPGATE_REST-$FTPGATE_ARG"]
services:
  - name: all
    policy: p
policies:
  p:
    base: readwrite
    inspect:
      download: %s
      upload: %s
      hooks: [%s]
      fail: %s
`, db, tapDir, mode, up, hooks, fail)
}

// TestInspectDownloads: downloads through the exec scanner (clamscan with an EICAR-only
// database) and other hooks, with curl, lftp and ftplib: EICAR is refused with 426 and the
// client has no copy, clean files pass whole, a REST under inspection is refused and the
// server forgets it, a scanner that fails refuses (fail: closed) or passes (fail: open),
// and in observe mode the hook sees exactly the file.
func TestInspectDownloads(t *testing.T) {
	db := clamDB(t)
	tapDir := t.TempDir()
	if err := os.Chmod(tapDir, 0o777); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "ftpgate.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(inspectConfig("inspect", "av", "closed", db, tapDir))
	b := newBed(t, map[string]int64{"clean.bin": small}, "-c", cfg)
	if err := os.WriteFile(filepath.Join(b.srv.Root, "eicar.txt"), []byte(eicar), 0o644); err != nil {
		t.Fatal(err)
	}
	// EICAR inside a bigger file, past the spool's memory (the object goes to disk).
	body := append(make([]byte, 5<<20), []byte(eicar)...)
	if err := os.WriteFile(filepath.Join(b.srv.Root, "embedded.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	reload := func(s string) {
		t.Helper()
		write(s)
		if msg, err := b.gw.Reload(); err != nil || msg != "configuration reloaded" {
			t.Fatalf("reload: %q %v\n%s", msg, err, tail(b.gw.LogText(), 5))
		}
	}
	url := func(name string) string { return scenario.URL(b.srv, b.tp.ServerV4, name) }
	ctx := b.ctx(t)

	for _, name := range []string{"eicar.txt", "embedded.bin"} {
		t.Run("curl refused "+name, func(t *testing.T) {
			dst := filepath.Join(b.tp.Dir, "got-"+name)
			n := len(recordsOf(b, name))
			tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, url(name))
			if err == nil {
				t.Fatalf("curl succeeded on %s:\n%s", name, tail(tr, 10))
			}
			if got, _ := os.ReadFile(dst); strings.Contains(string(got), "EICAR") {
				t.Errorf("the client has a copy of %s (%d bytes)", name, len(got))
			}
			rec := newRecord(t, b, name, n)
			if rec["reply"] != float64(426) || rec["refused"] != true || !strings.Contains(fmt.Sprint(rec["verdicts"]), "Eicar-Test-Signature") {
				t.Errorf("record %v", rec)
			}
		})
	}
	t.Run("curl clean", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "got-clean.bin")
		if tr, err := scenario.Curl(ctx, b.tp, scenario.PASV, "-o", dst, url("clean.bin")); err != nil {
			t.Fatalf("%v\n%s", err, tail(tr, 10))
		}
		if sha(t, dst) != b.sums["clean.bin"] {
			t.Fatal("clean.bin: checksum differs")
		}
	})
	t.Run("lftp", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "lftp-eicar.txt")
		if tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PORT, "get eicar.txt -o "+dst); err == nil {
			t.Fatalf("lftp got eicar.txt:\n%s", tail(tr, 10))
		}
		if got, _ := os.ReadFile(dst); strings.Contains(string(got), "EICAR") {
			t.Error("lftp has a copy of eicar.txt")
		}
		dst = filepath.Join(b.tp.Dir, "lftp-clean.bin")
		if tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PORT, "get clean.bin -o "+dst); err != nil {
			t.Fatalf("lftp clean.bin: %v\n%s", err, tail(tr, 20))
		}
		if sha(t, dst) != b.sums["clean.bin"] {
			t.Fatal("lftp clean.bin: checksum differs")
		}
	})
	t.Run("REST refused and forgotten", func(t *testing.T) {
		st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "restart", "clean.bin")
		if r := fmt.Sprint(st["rest"]["reply"]); !strings.HasPrefix(r, "504") {
			t.Errorf("RETR after REST 10: %q, want 504", r)
		}
		if st["whole"]["sha256"] != b.sums["clean.bin"] {
			t.Errorf("the next RETR on the session: %v, want the whole file (the server kept the REST?)", st["whole"])
		}
	})
	for _, fail := range []string{"closed", "open"} {
		t.Run("scanner down, fail "+fail, func(t *testing.T) {
			reload(inspectConfig("inspect", "broken", fail, db, tapDir))
			dst := filepath.Join(b.tp.Dir, "got-down-"+fail)
			n := len(recordsOf(b, "clean.bin"))
			_, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, url("clean.bin"))
			if (err == nil) != (fail == "open") {
				t.Fatalf("fail %s: curl error %v", fail, err)
			}
			if fail == "open" && sha(t, dst) != b.sums["clean.bin"] {
				t.Fatal("fail open: checksum differs")
			}
			rec := newRecord(t, b, "clean.bin", n)
			if v := fmt.Sprint(rec["verdicts"]); !strings.Contains(v, "failed:true") || !strings.Contains(v, "cannot connect to clamd") {
				t.Errorf("fail %s: verdicts %v", fail, rec["verdicts"])
			}
		})
	}
	t.Run("observe", func(t *testing.T) {
		reload(inspectConfig("observe", "tap", "closed", db, tapDir))
		dst := filepath.Join(b.tp.Dir, "got-observed.bin")
		if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, url("embedded.bin")); err != nil {
			t.Fatalf("%v\n%s", err, tail(tr, 10))
		}
		want := fmt.Sprintf("%x", sha256.Sum256(body))
		if got := sha(t, dst); got != want {
			t.Fatal("observe: the client's copy differs")
		}
		taps, _ := filepath.Glob(filepath.Join(tapDir, "*-embedded.bin.sum"))
		if len(taps) != 1 {
			t.Fatalf("tap files %v, want one", taps)
		}
		if got, _ := os.ReadFile(taps[0]); strings.TrimSpace(string(got)) != want {
			t.Errorf("the hook saw sha256 %q, want %s", got, want)
		}
	})
	t.Run("REST inspected as a part", func(t *testing.T) {
		reload(inspectConfig("inspect", "part", "closed", db, tapDir) + "      rest: part\n")
		whole, err := os.ReadFile(filepath.Join(b.srv.Root, "clean.bin"))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%x", sha256.Sum256(whole[10:]))
		st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "restart", "clean.bin")
		if st["rest"]["sha256"] != want {
			t.Errorf("RETR after REST 10: %v, want the file from byte 10 (sha256 %s)", st["rest"], want)
		}
		if st["whole"]["sha256"] != b.sums["clean.bin"] {
			t.Errorf("the next RETR: %v, want the whole file", st["whole"])
		}
		for rest, sum := range map[string]string{"10": want, "0": b.sums["clean.bin"]} {
			got, _ := os.ReadFile(filepath.Join(tapDir, "part-"+rest+"-clean.bin"))
			if strings.TrimSpace(string(got)) != rest+" "+sum {
				t.Errorf("the hook at REST %s saw %q, want the offset and the sha256 of the part", rest, got)
			}
		}
	})
}

// recordsOf returns the transfer records (JSON log lines) of name, oldest first.
func recordsOf(b *bed, name string) []map[string]any {
	var out []map[string]any
	for _, m := range b.gw.Logs("transfer") {
		if strings.HasSuffix(fmt.Sprint(m["arg"]), name) {
			out = append(out, m)
		}
	}
	return out
}

// newRecord waits up to 10 s for a transfer record of name beyond the first n, and returns
// the newest.
func newRecord(t *testing.T, b *bed, name string, n int) map[string]any {
	t.Helper()
	for range 200 {
		if r := recordsOf(b, name); len(r) > n {
			return r[len(r)-1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no new transfer record of %s", name)
	return nil
}

// TestInspectFTPS: the same scanner on FTPS downloads (TLS on both legs, ftpgate decrypts):
// EICAR is refused and the client has no copy; a clean file passes whole.
func TestInspectFTPS(t *testing.T) {
	db := clamDB(t)
	fb := newFTPSBed(t, testbed.TLSOptions{RequireReuse: true}, map[string]int64{"clean.bin": small})
	b := fb.bed
	if err := os.WriteFile(filepath.Join(b.srv.Root, "eicar.txt"), []byte(eicar), 0o644); err != nil {
		t.Fatal(err)
	}
	fb.tlsPolicy(t, fb.staticTLS("")+"    inspect:\n      download: inspect\n      hooks: [av]\n"+
		"hooks:\n  av:\n    exec: [clamscan, --no-summary, --stdout, -d, "+db+", -]\n")
	ctx := b.ctx(t)
	url := func(name string) string { return scenario.URL(b.srv, b.tp.ServerV4, name) }
	n := len(recordsOf(b, "eicar.txt"))
	dst := filepath.Join(b.tp.Dir, "tls-eicar.txt")
	if tr, err := scenario.CurlTLSVerify(ctx, b.tp, scenario.EPSV, fb.gwPKI.CACert, "-o", dst, url("eicar.txt")); err == nil {
		t.Fatalf("FTPS: curl got eicar.txt:\n%s", tail(tr, 10))
	}
	if got, _ := os.ReadFile(dst); strings.Contains(string(got), "EICAR") {
		t.Error("FTPS: the client has a copy of eicar.txt")
	}
	rec := newRecord(t, b, "eicar.txt", n)
	if rec["reply"] != float64(426) || rec["refused"] != true || !strings.HasPrefix(fmt.Sprint(rec["tls_client"]), "TLS1.") ||
		!strings.Contains(fmt.Sprint(rec["verdicts"]), "Eicar-Test-Signature") {
		t.Errorf("FTPS record %v", rec)
	}
	dst = filepath.Join(b.tp.Dir, "tls-clean.bin")
	if tr, err := scenario.CurlTLSVerify(ctx, b.tp, scenario.EPSV, fb.gwPKI.CACert, "-o", dst, url("clean.bin")); err != nil {
		t.Fatalf("FTPS clean: %v\n%s", err, tail(tr, 10))
	}
	if sha(t, dst) != b.sums["clean.bin"] {
		t.Fatal("FTPS clean.bin: checksum differs")
	}
}

// TestInspectUploads: uploads held until the scanner allowed them. EICAR is refused with
// 550, with curl and lftp, and nothing of it is on the server's disk: no new file, and a
// file it would have replaced is unchanged; a clean upload arrives whole.
func TestInspectUploads(t *testing.T) {
	db := clamDB(t)
	cfg := filepath.Join(t.TempDir(), "ftpgate.yaml")
	if err := os.WriteFile(cfg, []byte(inspectConfigUp("none", "inspect", "av", "closed", db, t.TempDir())), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBed(t, map[string]int64{"keep.bin": small}, "-c", cfg)
	ctx := b.ctx(t)
	bad := filepath.Join(b.tp.Dir, "up-eicar.txt")
	if err := os.WriteFile(bad, []byte(eicar), 0o644); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(b.tp.Dir, "up-clean.bin")
	cleanSum, err := testbed.MakeFile(clean, small+123)
	if err != nil {
		t.Fatal(err)
	}
	url := func(name string) string { return scenario.URL(b.srv, b.tp.ServerV4, name) }
	for _, c := range []struct{ name, target string }{{"new file", "new-eicar.txt"}, {"over a file", "keep.bin"}} {
		t.Run("curl refused, "+c.name, func(t *testing.T) {
			tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-T", bad, url(c.target))
			if err == nil {
				t.Fatalf("curl uploaded EICAR:\n%s", tail(tr, 10))
			}
			if !strings.Contains(tr, "550") {
				t.Errorf("curl did not see 550:\n%s", tail(tr, 10))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(b.srv.Root, "new-eicar.txt")); !os.IsNotExist(err) {
		t.Errorf("the refused upload left a file on the server: %v", err)
	}
	if sha(t, filepath.Join(b.srv.Root, "keep.bin")) != b.sums["keep.bin"] {
		t.Error("the refused upload changed the file it would have replaced")
	}
	t.Run("lftp refused", func(t *testing.T) {
		if tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PORT, "put "+bad+" -o lftp-eicar.txt"); err == nil {
			t.Fatalf("lftp uploaded EICAR:\n%s", tail(tr, 10))
		}
		if _, err := os.Stat(filepath.Join(b.srv.Root, "lftp-eicar.txt")); !os.IsNotExist(err) {
			t.Errorf("lftp's refused upload left a file: %v", err)
		}
	})
	for _, m := range []scenario.Mode{scenario.EPSV, scenario.PORT} {
		t.Run(fmt.Sprintf("curl clean %s", m), func(t *testing.T) {
			name := fmt.Sprintf("clean-%s.bin", m)
			if tr, err := scenario.Curl(ctx, b.tp, m, "-T", clean, url(name)); err != nil {
				t.Fatalf("%v\n%s", err, tail(tr, 10))
			}
			if got := sha(t, filepath.Join(b.srv.Root, name)); got != cleanSum {
				t.Fatalf("server file sha256 %s, want %s", got, cleanSum)
			}
		})
	}
	t.Run("lftp clean", func(t *testing.T) {
		if tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.EPSV, "put "+clean+" -o lftp-clean.bin"); err != nil {
			t.Fatalf("%v\n%s", err, tail(tr, 20))
		}
		if got := sha(t, filepath.Join(b.srv.Root, "lftp-clean.bin")); got != cleanSum {
			t.Fatalf("server file sha256 %s, want %s", got, cleanSum)
		}
	})
	for _, r := range recordsOf(b, "eicar.txt") {
		if r["reply"] != float64(550) || r["refused"] != true || !strings.Contains(fmt.Sprint(r["verdicts"]), "Eicar-Test-Signature") {
			t.Errorf("record of a refused upload %v", r)
		}
	}
}
