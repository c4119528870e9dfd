package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// scriptHooks is a Starlark file with a chunk hook that turns every "s" into "$" (byte by
// byte, so where chunks happen to begin and end does not matter) and a transfer policy.
const scriptHooks = `
def dollars(data, transfer):
    return data.replace("s", "$")

def rules(transfer):
    if transfer.extension == "exe":
        return reject(550, "executables are not accepted")
    if transfer.direction == "upload" and transfer.size > 100000 and transfer.user == "ftpuser":
        return reject(550, "uploads over 100000 bytes are not accepted")
    return ACCEPT
`

// TestInspectScripts: a Starlark chunk hook rewrites downloads as they pass (curl and lftp
// get the rewritten bytes, the records count both sides) and a Starlark transfer policy
// refuses uploads by extension and size (550, nothing on the server's disk) and lets others
// through whole.
func TestInspectScripts(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hooks.star"), []byte(scriptHooks), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ftpgate.yaml")
	conf := `version: 1
script: hooks.star
hooks:
  dollars: {chunk: dollars}
  rules: {starlark: rules, timeout: 5s}
services:
  - name: all
    policy: p
policies:
  p:
    base: readwrite
    inspect:
      download: chunk
      upload: inspect
      hooks: [dollars, rules]
`
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBed(t, nil, "-c", cfg)
	ctx := b.ctx(t)
	// 300 KiB of text: many chunks, with an "s" in every line.
	text := []byte(strings.Repeat("this line says something secret\n", 300<<10/32))
	if err := os.WriteFile(filepath.Join(b.srv.Root, "text.txt"), text, 0o644); err != nil {
		t.Fatal(err)
	}
	want := bytes.ReplaceAll(text, []byte("s"), []byte("$"))
	wantSum := fmt.Sprintf("%x", sha256.Sum256(want))
	url := func(name string) string { return scenario.URL(b.srv, b.tp.ServerV4, name) }

	t.Run("chunk hook, curl", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "curl-text.txt")
		if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, url("text.txt")); err != nil {
			t.Fatalf("%v\n%s", err, tail(tr, 10))
		}
		if got := sha(t, dst); got != wantSum {
			t.Fatalf("the client got sha256 %s, want the rewritten text's %s", got, wantSum)
		}
		rec := newRecord(t, b, "text.txt", 0)
		if rec["bytes_received"] != float64(len(text)) || rec["bytes_to_client"] != float64(len(want)) || rec["sha256"] != wantSum ||
			rec["sha256_received"] != fmt.Sprintf("%x", sha256.Sum256(text)) || !strings.Contains(fmt.Sprint(rec["verdicts"]), "dollars") {
			t.Errorf("record %v", rec)
		}
	})
	t.Run("chunk hook, lftp", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "lftp-text.txt")
		if tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PORT, "get text.txt -o "+dst); err != nil {
			t.Fatalf("%v\n%s", err, tail(tr, 20))
		}
		if got := sha(t, dst); got != wantSum {
			t.Fatalf("lftp got sha256 %s, want %s", got, wantSum)
		}
	})
	small := filepath.Join(b.tp.Dir, "small.txt")
	smallSum, err := testbed.MakeFile(small, 5000)
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(b.tp.Dir, "big.bin")
	if _, err := testbed.MakeFile(big, 200000); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, src, target, reason string }{
		{"extension", small, "tool.EXE", "executables are not accepted"},
		{"size", big, "big.bin", "uploads over 100000 bytes are not accepted"},
	} {
		t.Run("transfer policy refuses by "+c.name, func(t *testing.T) {
			tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-T", c.src, url(c.target))
			if err == nil || !strings.Contains(tr, "550 Upload refused by inspection: rules: "+c.reason) {
				t.Fatalf("curl: %v\n%s", err, tail(tr, 10))
			}
			if _, err := os.Stat(filepath.Join(b.srv.Root, c.target)); !os.IsNotExist(err) {
				t.Errorf("the refused upload is on the server: %v", err)
			}
		})
	}
	t.Run("transfer policy allows", func(t *testing.T) {
		if tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.EPSV, "put "+small+" -o notes.txt"); err != nil {
			t.Fatalf("%v\n%s", err, tail(tr, 20))
		}
		if got := sha(t, filepath.Join(b.srv.Root, "notes.txt")); got != smallSum {
			t.Fatalf("server file sha256 %s, want %s", got, smallSum)
		}
	})
}
