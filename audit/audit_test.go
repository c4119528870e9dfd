package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// readRecords decodes every line of the files; a line that is not a whole record fails t.
func readRecords(t *testing.T, files ...string) []Transfer {
	t.Helper()
	var out []Transfer
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var r Transfer
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: line %q: %v", f, sc.Text(), err)
			}
			out = append(out, r)
		}
		fh.Close()
	}
	return out
}

// TestReopenLosesNothing: writers run while the file is renamed and reopened three times
// (as logrotate and SIGHUP do); every record is whole, in one of the files, exactly once.
func TestReopenLosesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				l.Transfer(Transfer{Session: uint64(w), Command: "RETR", Arg: fmt.Sprintf("%d/%d", w, i), Time: time.Now()})
			}
		})
	}
	var moved []string
	for i := range 3 {
		time.Sleep(5 * time.Millisecond)
		old := filepath.Join(dir, fmt.Sprintf("audit.jsonl.%d", i))
		if err := os.Rename(path, old); err != nil {
			t.Fatal(err)
		}
		moved = append(moved, old)
		if err := l.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, append(moved, path)...)
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Record != "transfer" || seen[r.Arg] {
			t.Fatalf("record %+v: wrong kind or written twice", r)
		}
		seen[r.Arg] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d records, want %d", len(seen), writers*each)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("reopened file: %v, mode %v; want 0640", err, fi.Mode())
	}
}

// TestSessionRecord: a session record has its kind and its fields, as one line.
func TestSessionRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Session(Session{Session: 3, User: "ann", Commands: 5, RefusedTotal: 1,
		Refused: []Refusal{{Command: "DELE", Reply: 550, Reason: "policy"}}, TLSClient: &TLS{Version: "TLS1.3", Cipher: "TLS_AES_128_GCM_SHA256"}})
	l.Close()
	l.Session(Session{Session: 4}) // after Close: dropped, no panic
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	if m["record"] != "session" || m["user"] != "ann" || m["refused_total"] != float64(1) || m["tls_server"] != nil {
		t.Fatalf("record %v", m)
	}
	if tc, _ := m["tls_client"].(map[string]any); tc["version"] != "TLS1.3" {
		t.Fatalf("tls_client %v", m["tls_client"])
	}
}
