package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// rssKiB returns VmRSS of process pid in KiB.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// spoolOpen reports whether process pid holds an unlinked spool file of dir open.
func spoolOpen(pid int, dir string) bool {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, filepath.Join(dir, "ftpgate-spool-")) && strings.HasSuffix(l, "(deleted)") {
			return true
		}
	}
	return false
}

// TestInspectMemoryBound: a 1 GiB download under inspect mode is spooled to disk (an
// unlinked file in spool_dir, seen open while the hook runs), ftpgate's resident memory,
// sampled every 50 ms, stays within spool_memory and a fixed allowance over its level
// before the transfer, and the client gets the whole file, which the hook saw whole too.
func TestInspectMemoryBound(t *testing.T) {
	if proxyPass || os.Getenv("FTPGATE_E2E_RACE") == "1" {
		// Inspected channels take the proxy path in every pass; the race detector's own
		// memory would be measured, not ftpgate's.
		t.Skip("1 GiB inspect-mode memory test: the default pass runs it")
	}
	const size = 1 << 30
	const allowanceKiB = 64 << 10 // runtime, buffers and the session: far below the object
	spoolDir, tapDir := t.TempDir(), t.TempDir()
	cfg := filepath.Join(t.TempDir(), "ftpgate.yaml")
	conf := fmt.Sprintf(`version: 1
hooks:
  tap:
    exec: [sh, -c, "sha256sum | cut -d' ' -f1 > %s/seen"]
    timeout: 300s
services:
  - name: all
    policy: p
policies:
  p:
    base: readwrite
    inspect:
      download: inspect
      hooks: [tap]
      spool_memory: 4MiB
      spool_dir: %s
`, tapDir, spoolDir)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBed(t, map[string]int64{"big.bin": size}, "-c", cfg)
	pid := gatewayPID(t, b.gw.Proc)
	base := rssKiB(t, pid)
	var (
		wg      sync.WaitGroup
		peak    int64
		spooled bool
	)
	done := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range 20 * 60 * 5 { // at most 5 minutes of samples
			peak = max(peak, rssKiB(t, pid))
			spooled = spooled || spoolOpen(pid, spoolDir)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	tr, err := scenario.Curl(b.ctx(t), b.tp, scenario.EPSV, "-o", "/dev/null", scenario.URL(b.srv, b.tp.ServerV4, "big.bin"))
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(tr, 10))
	}
	rec := newRecord(t, b, "big.bin", 0)
	if rec["bytes_to_client"] != float64(size) || rec["sha256"] != b.sums["big.bin"] || rec["refused"] != false {
		t.Errorf("record %v", rec)
	}
	if seen, _ := os.ReadFile(filepath.Join(tapDir, "seen")); strings.TrimSpace(string(seen)) != b.sums["big.bin"] {
		t.Errorf("the hook saw sha256 %q, want %s", seen, b.sums["big.bin"])
	}
	if !spooled {
		t.Error("no spool file in spool_dir was seen open during the transfer")
	}
	if left, _ := os.ReadDir(spoolDir); len(left) != 0 {
		t.Errorf("spool_dir holds %d entries after the transfer", len(left))
	}
	t.Logf("VmRSS before %d KiB, peak %d KiB (+%d KiB) for a %d MiB object", base, peak, peak-base, size>>20)
	if peak-base > 4<<10+allowanceKiB {
		t.Errorf("VmRSS grew by %d KiB during a 1 GiB inspected transfer, over spool_memory (4 MiB) + %d KiB", peak-base, allowanceKiB)
	}
}
