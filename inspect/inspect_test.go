package inspect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spoolOf returns a spool holding data, with memMax bytes in memory at most.
func spoolOf(t *testing.T, data []byte, memMax int) *Spool {
	t.Helper()
	s := NewSpool(t.TempDir(), memMax, 0)
	t.Cleanup(func() { s.Close() })
	for len(data) > 0 {
		n := min(len(data), 1000)
		if _, err := s.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	return s
}

// TestSpool: bytes stay in memory up to the bound, then go to a file that is never
// visible in the directory; either way the object reads back whole, twice.
func TestSpool(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for _, memMax := range []int{1 << 20, 10000} {
		s := spoolOf(t, data, memMax)
		if s.InFile() != (memMax < len(data)) || s.Size() != int64(len(data)) {
			t.Fatalf("memMax %d: in file %v, size %d", memMax, s.InFile(), s.Size())
		}
		for range 2 {
			got, err := io.ReadAll(s.Reader())
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("memMax %d: read back %d bytes (%v), want %d", memMax, len(got), err, len(data))
			}
		}
		if s.InFile() {
			if left, _ := os.ReadDir(s.dir); len(left) != 0 {
				t.Fatalf("spool files visible in %s: %v", s.dir, left)
			}
			got, _ := io.ReadAll(s.File())
			if !bytes.Equal(got, data) {
				t.Fatal("File() does not read the whole object")
			}
		}
	}
	s := NewSpool(t.TempDir(), 100, 150)
	if _, err := s.Write(make([]byte, 151)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("write past max_size: %v, want ErrTooLarge", err)
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExec: exit 0 allows, 1 refuses with the signature the output names, anything else
// and the timeout are failures; the object arrives on stdin whether it is in memory or in
// a file, and its metadata in the environment.
func TestExec(t *testing.T) {
	// A scanner in the manner of clamdscan: "stream: NAME FOUND" and exit 1 for EICAR.
	scan := script(t, `if grep -q EICAR; then echo "stream: Eicar-Test-Signature FOUND"; exit 1; fi
echo "stream: OK $FTPGATE_COMMAND $FTPGATE_ARG $FTPGATE_DIRECTION"`)
	obj := &Object{Command: "RETR", Arg: "a.bin", Session: 3}
	for _, memMax := range []int{1 << 20, 16} {
		h := &Exec{HookName: "av", Command: []string{scan}}
		v, err := h.Inspect(context.Background(), obj, spoolOf(t, []byte("clean data, nothing to see"), memMax))
		if err != nil || !v.Allow || v.Reason != "stream: OK RETR a.bin download" {
			t.Errorf("memMax %d, clean: %+v %v", memMax, v, err)
		}
		v, err = h.Inspect(context.Background(), obj, spoolOf(t, []byte("xx EICAR-STANDARD xx"), memMax))
		if err != nil || v.Allow || v.Reason != "Eicar-Test-Signature FOUND" {
			t.Errorf("memMax %d, infected: %+v %v", memMax, v, err)
		}
	}
	for name, tc := range map[string]struct {
		body    string
		timeout time.Duration
		want    string
	}{
		"exit 2":  {"cat >/dev/null; echo cannot connect to clamd >&2; exit 2", 0, "exit status 2: cannot connect to clamd"},
		"killed":  {"kill -9 $$", 0, "signal: killed"},
		"timeout": {"sleep 30", 300 * time.Millisecond, "no verdict within 300ms"},
	} {
		h := &Exec{HookName: "av", Command: []string{script(t, tc.body)}, Timeout: tc.timeout}
		start := time.Now()
		_, err := h.Inspect(context.Background(), obj, spoolOf(t, []byte("x"), 1<<20))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("%s: took %s", name, time.Since(start))
		}
	}
	if _, err := (&Exec{HookName: "none", Command: []string{"/nonexistent/scanner"}}).Inspect(context.Background(), obj, spoolOf(t, nil, 10)); err == nil {
		t.Error("a missing command is no failure")
	}
}

// stub is a hook with a fixed answer.
type stub struct {
	name  string
	allow bool
	err   error
	calls *int
}

func (s stub) Name() string { return s.name }
func (s stub) Inspect(context.Context, *Object, *Spool) (Verdict, error) {
	*s.calls++
	return Verdict{Allow: s.allow, Reason: s.name}, s.err
}

// TestDecide: the first refusal ends the run; a failed hook follows the failure policy.
func TestDecide(t *testing.T) {
	var calls int
	ok, no, broken := stub{"ok", true, nil, &calls}, stub{"no", false, nil, &calls}, stub{"broken", true, errors.New("unreachable"), &calls}
	vs, allow := Decide(context.Background(), []Hook{ok, no, ok}, FailClosed, &Object{}, nil)
	if allow || len(vs) != 2 || calls != 2 || vs[1].Hook != "no" {
		t.Errorf("ok,no,ok: allow %v, verdicts %+v, calls %d", allow, vs, calls)
	}
	for fail, want := range map[Fail]bool{FailClosed: false, FailOpen: true} {
		vs, allow := Decide(context.Background(), []Hook{broken}, fail, &Object{}, nil)
		if allow != want || !vs[0].Failed || vs[0].Reason != "unreachable" {
			t.Errorf("fail %s: allow %v, verdicts %+v", fail, allow, vs)
		}
	}
}
