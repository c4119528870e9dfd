package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDeployExample(t *testing.T) {
	code, out, stderr := runCmd("check", "-c", "../../deploy/ftpgate.yaml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"service office", "base: readonly", `STOR   reject 553 "Uploads are not allowed."`, "deploy/ftpgate.yaml: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q", want)
		}
	}
}

func TestCheckReportsFileLineKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("version: 1\nservices:\n  - name: a\n    policy: readonly\npolicies:\n  x:\n    commands:\n      STOR: rejct\n"), 0o644)
	code, _, stderr := runCmd("check", "-c", p)
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if want := "bad.yaml:8: policies.x.commands.STOR"; !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("stderr %q, want one line with %q", stderr, want)
	}
}

func TestPolicyTest(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ftpgate.yaml")
	os.WriteFile(cfg, []byte(`version: 1
services:
  - name: guests
    policy: guests
policies:
  guests:
    base: anonymous
    answers:
      Null220: {action: change, code: 220, text: "Guests welcome"}
`), 0o644)
	tr := filepath.Join(dir, "session.txt")
	os.WriteFile(tr, []byte("S: 220 vsFTPd\nC: USER alice\nC: USER anonymous\nS: 331 Any password.\nC: PASS x\nS: 230 Ok.\nC: STOR up.bin\nC: RETR a.txt\nS: 226 Done.\n"), 0o644)
	var out, errb strings.Builder
	code := run(context.Background(), []string{"policy", "test", "-c", cfg, tr}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"service guests, policy guests",
		"-> change: 220 Guests welcome",
		"C: USER alice", "-> reject: 530",
		"C: STOR up.bin", "C: RETR a.txt",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	lines := strings.Split(got, "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "C: STOR") && !strings.Contains(l, "reject") {
			t.Errorf("STOR not refused by the anonymous (read-only) preset: %s", l)
		}
		if strings.HasPrefix(l, "C: RETR") && !strings.Contains(l, "-> accept") {
			t.Errorf("RETR refused: %s", l)
		}
	}
}
