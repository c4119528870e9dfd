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

// TestCheckPositionalFile: `ftpgate check FILE` checks FILE; a second file, or a file both
// as -c and as the argument, is a usage error.
func TestCheckPositionalFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("version: 1\nservices:\n  - name: a\n    policy: nosuch\n"), 0o644)
	if code, _, stderr := runCmd("check", p); code != exitError || !strings.Contains(stderr, "bad.yaml:4") {
		t.Errorf("check FILE: exit %d, stderr %q; want FILE checked (and refused)", code, stderr)
	}
	if code, out, stderr := runCmd("check", "../../deploy/ftpgate.yaml"); code != exitOK || !strings.Contains(out, "deploy/ftpgate.yaml: ok") {
		t.Errorf("check deploy example: exit %d: %s", code, stderr)
	}
	if code, _, _ := runCmd("check", p, p); code != exitUsage {
		t.Errorf("two files: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCmd("check", "-c", p, p); code != exitUsage {
		t.Errorf("-c and a file: exit %d, want %d", code, exitUsage)
	}
}

// TestCheckShowsDryRun: an entry with dry_run is printed as what it does (accept), and a
// dry run that lets write commands through a read-only policy is warned about.
func TestCheckShowsDryRun(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dry.yaml")
	os.WriteFile(p, []byte("version: 1\nservices:\n  - name: a\n    policy: ro\npolicies:\n  ro:\n    base: readonly\n    commands:\n      \"*\": {action: reject, dry_run: true}\n"), 0o644)
	code, out, stderr := runCmd("check", p)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"*      accept (dry run: would reject)", "WARNING: dry_run lets write commands through this readonly-based policy: APPE DELE"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

// TestPolicyTestDeployExampleRefusesWrites: the shipped example's office policy refuses
// every command that changes what the server stores.
func TestPolicyTestDeployExampleRefusesWrites(t *testing.T) {
	writes := []string{"STOR a", "STOU", "APPE a", "DELE a", "MKD d", "XMKD d", "RMD d", "XRMD d", "RNFR a", "RNTO b",
		"MFMT 20260101000000 a", "MFCT 20260101000000 a", "MFF Modify=20260101000000; a"}
	transcript := "S: 220 ready\nC: USER alice\nS: 331 Password.\nC: PASS x\nS: 230 Ok.\n"
	for _, w := range writes {
		transcript += "C: " + w + "\n"
	}
	tr := filepath.Join(t.TempDir(), "writes.txt")
	os.WriteFile(tr, []byte(transcript), 0o644)
	var out, errb strings.Builder
	code := run(context.Background(), []string{"policy", "test", "-c", "../../deploy/ftpgate.yaml", "-service", "office", tr}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	refused := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(l, "C: ") || strings.HasPrefix(l, "C: USER") || strings.HasPrefix(l, "C: PASS") {
			continue
		}
		if !strings.Contains(l, "-> reject") || strings.Contains(l, "would be refused") {
			t.Errorf("office lets a write through: %s", l)
		}
		refused++
	}
	if refused != len(writes) {
		t.Errorf("%d write commands judged, want %d:\n%s", refused, len(writes), out.String())
	}
}

// TestPackagedConfig checks the configuration the Debian package installs as
// /etc/ftpgate/ftpgate.yaml: it loads and is the built-in default written out.
func TestPackagedConfig(t *testing.T) {
	code, out, stderr := runCmd("check", "-c", "../../deploy/debian/ftpgate.yaml")
	if code != exitOK {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"service default", "client_networks: 0.0.0.0/0, ::/0", "base: readwrite", "STOR   accept"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%.600s", want, out)
		}
	}
}
