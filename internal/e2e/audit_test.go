package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ftpgate/ftpgate/audit"
	"github.com/ftpgate/ftpgate/internal/scenario"
)

// TestAuditLog: curl sessions run while the audit log is renamed and ftpgate gets SIGHUP
// (what logrotate does); afterwards the two files hold one session record and one transfer
// record per curl run, none lost or torn, each transfer with its data connections and, on
// the paths through ftpgate, the file's digest.
func TestAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	b := newBed(t, map[string]int64{"small.bin": small}, "-audit-log", path)
	ctx := b.ctx(t)
	const runs = 12
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	rotated := make(chan struct{})
	wg.Go(func() {
		for i := range runs {
			if i == runs/2 {
				<-rotated // the second half after the rotation
			}
			dst := filepath.Join(b.tp.Dir, fmt.Sprintf("audit-%d.bin", i))
			if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("run %d: %w\n%s", i, err, tail(tr, 10)))
				mu.Unlock()
			}
		}
	})
	if _, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" }); !ok {
		t.Fatal("no transfer before the rotation")
	}
	moved := path + ".1"
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if msg, err := b.gw.Reload(); err != nil || msg != "configuration reloaded" {
		t.Fatalf("SIGHUP: %q %v", msg, err)
	}
	if len(b.gw.Logs("audit log reopened")) != 1 {
		t.Error("no \"audit log reopened\" line after SIGHUP")
	}
	close(rotated)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if err := b.gw.Stop(); err != nil { // every session's record is written when it ends
		t.Fatal(err)
	}
	sessions, transfers := readAudit(t, moved), 0
	second := readAudit(t, path)
	if len(sessions) == 0 || len(second) == 0 {
		t.Errorf("records before the rotation %d, after %d: want some in each file", len(sessions), len(second))
	}
	var ns int
	for _, m := range append(sessions, second...) {
		switch m["record"] {
		case "session":
			ns++
			if m["commands"].(float64) < 3 || m["user"] != b.srv.User {
				t.Errorf("session record %v", m)
			}
		case "transfer":
			transfers++
			checkAuditTransfer(t, m, b.sums["small.bin"])
		default:
			t.Errorf("record of unknown kind %v", m)
		}
	}
	if ns != runs || transfers != runs {
		t.Errorf("%d session and %d transfer records, want %d of each", ns, transfers, runs)
	}
}

// readAudit decodes every line of an audit file; a line that is not a whole JSON object
// fails t.
func readAudit(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// checkAuditTransfer checks one RETR small.bin transfer record.
func checkAuditTransfer(t *testing.T, m map[string]any, sum string) {
	t.Helper()
	b, _ := json.Marshal(m)
	var r audit.Transfer
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Command != "RETR" || r.Reply != 226 || !r.Complete || r.DataClient == "" || r.BytesToClient < small*98/100 {
		t.Errorf("transfer record %+v", r)
	}
	switch r.Path {
	case "kernel":
		if r.SHA256 != "" || !r.BytesEstimated {
			t.Errorf("kernel path record %+v: no digest and estimated bytes wanted", r)
		}
	case "proxy":
		if r.SHA256 != sum || r.Size != small || r.DataServer == "" {
			t.Errorf("proxy record %+v: want sha256 %s, size %d and both data connections", r, sum, small)
		}
	default:
		t.Errorf("record path %q", r.Path)
	}
}
