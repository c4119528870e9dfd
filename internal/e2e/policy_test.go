package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// policyConfig: clients at .2 (and ::2) are the office with a read-only policy and a
// changed greeting; the client's second address .3 is a guest admitted anonymously only;
// anything else (::3) matches no service and is refused.
const policyConfig = `version: 1
script: policy.star
services:
  - name: office
    client_networks: [198.51.100.2/32, "2001:db8:1::2/128"]
    policy: office
  - name: guests
    client_networks: [198.51.100.3/32]
    policy: guests
policies:
  office:
    base: %s
    commands:
      SIZE: {action: policy, callback: size}
    answers:
      Null220: {action: change, code: 220, text: "Welcome to the office FTP gateway"}
  guests:
    base: anonymous
`

// policyScript is the Starlark callback file policyConfig names.
const policyScript = `
def size(command, param, session):
    if param == "secret.bin":
        return reject(550, "Not for you, " + session.client + ".")
    return ACCEPT
`

// TestPolicy runs real clients through a configured gateway: readonly refuses STOR while
// RETR works, the anonymous-only service refuses alice and admits anonymous, an unknown
// command gets 500 and the session goes on, a changed answer arrives changed, a connection
// matching no service gets 421, and SIGHUP reloads (a broken file changes nothing).
func TestPolicy(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "ftpgate.yaml")
	writeConfig := func(base string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(policyConfig, base)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.star"), []byte(policyScript), 0o644); err != nil {
		t.Fatal(err)
	}
	writeConfig("readonly")
	b := newBed(t, map[string]int64{"small.bin": small}, "-c", cfgPath)
	if err := os.WriteFile(filepath.Join(b.srv.AnonRoot, "public.txt"), []byte("for everyone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(b.tp.Dir, "upload.bin")
	if err := os.WriteFile(upload, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := func(name string) string { return scenario.URL(b.srv, b.tp.ServerV4, name) }
	ctx := b.ctx(t)

	t.Run("readonly/curl", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "ro-curl.bin")
		if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, url("small.bin")); err != nil {
			t.Fatalf("RETR under readonly: %v\n%s", err, tail(tr, 20))
		}
		if sha(t, dst) != b.sums["small.bin"] {
			t.Fatal("RETR under readonly: checksum differs")
		}
		tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-T", upload, url("ro-up.bin"))
		if err == nil {
			t.Fatal("STOR under readonly succeeded")
		}
		if !strings.Contains(tr, "< 5") || !strings.Contains(tr, "STOR") {
			t.Fatalf("STOR under readonly: no 5xx reply in curl's transcript:\n%s", tail(tr, 20))
		}
		if _, err := os.Stat(filepath.Join(b.srv.Root, "ro-up.bin")); err == nil {
			t.Fatal("the refused upload reached the server")
		}
	})

	t.Run("readonly/lftp", func(t *testing.T) {
		dst := filepath.Join(b.tp.Dir, "ro-lftp.bin")
		if tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PASV, "get small.bin -o "+dst); err != nil {
			t.Fatalf("get under readonly: %v\n%s", err, tail(tr, 20))
		}
		tr, err := scenario.Lftp(ctx, b.tp, b.srv, b.tp.ServerV4, scenario.PASV, "put "+upload+" -o ro-lftp-up.bin")
		if err == nil || !strings.Contains(tr, "<--- 5") {
			t.Fatalf("put under readonly: err %v; want a 5xx refusal:\n%s", err, tail(tr, 20))
		}
		if _, err := os.Stat(filepath.Join(b.srv.Root, "ro-lftp-up.bin")); err == nil {
			t.Fatal("the refused upload reached the server")
		}
	})

	t.Run("greeting, unknown command, callback", func(t *testing.T) {
		st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(),
			"XYZZY", "NOOP", "SIZE secret.bin", "SIZE small.bin")
		if got := fmt.Sprint(st["greeting"]["reply"]); got != "220 Welcome to the office FTP gateway" {
			t.Errorf("greeting %q, want the changed one", got)
		}
		if got := fmt.Sprint(st["0"]["reply"]); !strings.HasPrefix(got, "500") {
			t.Errorf("unknown command: %q, want 500", got)
		}
		if got := fmt.Sprint(st["1"]["reply"]); !strings.HasPrefix(got, "200") {
			t.Errorf("NOOP after the unknown command: %q, want 200", got)
		}
		if got := fmt.Sprint(st["2"]["reply"]); got != "550 Not for you, 198.51.100.2." {
			t.Errorf("SIZE refused by the Starlark callback: %q", got)
		}
		if got := fmt.Sprint(st["3"]["reply"]); got != fmt.Sprintf("213 %d", small) {
			t.Errorf("SIZE accepted by the Starlark callback: %q", got)
		}
	})

	t.Run("anonymous only", func(t *testing.T) {
		other := b.tp.OtherV4.String()
		st := b.steps(t, b.tp.ServerV4.String(), "alice", "secret", "session", other)
		if got := fmt.Sprint(st["login"]["reply"]); !strings.HasPrefix(got, "530") {
			t.Errorf("alice: %q, want 530", got)
		}
		st = b.steps(t, b.tp.ServerV4.String(), "anonymous", "guest@example.org", "session", other, "SIZE public.txt")
		if got := fmt.Sprint(st["login"]["reply"]); !strings.HasPrefix(got, "230") {
			t.Errorf("anonymous: %q, want 230", got)
		}
		if got := fmt.Sprint(st["0"]["reply"]); got != "213 13" {
			t.Errorf("anonymous SIZE public.txt: %q, want 213 13", got)
		}
		c, _ := os.ReadFile(filepath.Join(b.tp.Dir, "vsftpd", "vsftpd4.log"))
		if strings.Contains(string(c), `"USER alice"`) {
			t.Error("the server saw USER alice")
		}
	})

	t.Run("no service", func(t *testing.T) {
		st := b.steps(t, b.tp.ServerV6.String(), b.srv.User, b.srv.Pass, "session", b.tp.OtherV6.String())
		if got := fmt.Sprint(st["greeting"]["reply"]); !strings.HasPrefix(got, "421") {
			t.Errorf("connection matching no service: %q, want 421", got)
		}
	})

	t.Run("reload", func(t *testing.T) {
		writeConfig("readwrite")
		if msg, err := b.gw.Reload(); err != nil || msg != "configuration reloaded" {
			t.Fatalf("reload: %q, %v", msg, err)
		}
		if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-T", upload, url("rw-up.bin")); err != nil {
			t.Fatalf("STOR after reloading readwrite: %v\n%s", err, tail(tr, 20))
		}
		if err := os.WriteFile(cfgPath, []byte("version: 1\nservcies: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := b.gw.Reload(); err != nil || !strings.HasPrefix(msg, "configuration reload failed") {
			t.Fatalf("reload of a broken file: %q, %v", msg, err)
		}
		if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-T", upload, url("rw-up2.bin")); err != nil {
			t.Fatalf("STOR after a failed reload (readwrite must still apply): %v\n%s", err, tail(tr, 20))
		}
	})
}
