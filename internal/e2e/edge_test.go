package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// TestEdgeCases: REST resume, ABOR in the middle of a big RETR, bytes sent against a RETR,
// and a transfer above 4 GiB.
func TestEdgeCases(t *testing.T) {
	// The proxy path: REST, ABOR, one-way enforcement and exact counts are ftpgate's own.
	b := newBed(t, map[string]int64{"small.bin": small, "big.bin": big, "huge.bin": 256 << 20}, "-kernel-path=false")
	server := b.tp.ServerV4.String()

	t.Run("REST resume", func(t *testing.T) {
		// The first half of big.bin is already here; curl -C - resumes with REST.
		part := filepath.Join(b.tp.Dir, "resume.bin")
		src, err := os.Open(filepath.Join(b.srv.Root, "big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Create(part)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(dst, src, big/2); err != nil {
			t.Fatal(err)
		}
		src.Close()
		dst.Close()
		if tr, err := scenario.Curl(b.ctx(t), b.tp, scenario.EPSV, "-C", "-", "-o", part, scenario.URL(b.srv, b.tp.ServerV4, "big.bin")); err != nil {
			t.Fatalf("resume: %v\n%s", err, tail(tr, 20))
		}
		if sha(t, part) != b.sums["big.bin"] {
			t.Fatal("resumed file differs")
		}
		rec, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" && r.Rest == big/2 })
		if !ok || rec.BytesToClient != big/2 || rec.Reply != 226 || !rec.Complete {
			t.Fatalf("transfer record of the resume: %+v (found %v)", rec, ok)
		}
	})

	t.Run("ABOR mid-transfer", func(t *testing.T) {
		st := b.steps(t, server, b.srv.User, b.srv.Pass, "abort", "huge.bin", "small.bin")
		if n := st["partial"]["bytes"].(float64); n < 1<<20 || n >= 256<<20 {
			t.Fatalf("read %v bytes before ABOR", n)
		}
		// RFC 959: the aborted RETR gets 426, then ABOR itself 225 or 226, in that order.
		if r := fmt.Sprint(st["abort"]["reply"]); !strings.HasPrefix(r, "426") {
			t.Errorf("first reply after ABOR %q, want the RETR's 426", r)
		}
		if r := fmt.Sprint(st["abort2"]["reply"]); !strings.HasPrefix(r, "226") && !strings.HasPrefix(r, "225") {
			t.Errorf("ABOR's own reply %q, want 225/226", r)
		}
		if r := fmt.Sprint(st["NOOP"]["reply"]); !strings.HasPrefix(r, "200") {
			t.Errorf("NOOP after ABOR: %q", r)
		}
		if n := st["after"]["bytes"]; n != float64(small) {
			t.Errorf("the next transfer after ABOR moved %v bytes, want %d", n, small)
		}
		rec, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Arg == "huge.bin" })
		if !ok || rec.Reply == 226 || rec.Complete || rec.BytesToClient >= 256<<20 {
			t.Errorf("record of the aborted transfer: %+v (found %v)", rec, ok)
		}
	})

	t.Run("bytes against a RETR", func(t *testing.T) {
		st := b.steps(t, server, b.srv.User, b.srv.Pass, "wrongway", "huge.bin")
		if n := st["data"]["bytes"].(float64); n >= 256<<20 {
			t.Fatalf("the client got the whole file (%v bytes) although it wrote into a RETR", n)
		}
		if r := fmt.Sprint(st["final"]["reply"]); strings.HasPrefix(r, "226") {
			t.Errorf("final reply %q: the transfer looks complete", r)
		}
		if r := fmt.Sprint(st["NOOP"]["reply"]); !strings.HasPrefix(r, "200") {
			t.Errorf("the session is not usable after: NOOP %q", r)
		}
		if !strings.Contains(b.gw.LogText(), "bytes against the transfer's direction") {
			t.Error("the violation was not logged")
		}
	})

	t.Run("above 4 GiB", func(t *testing.T) {
		const size = 4<<30 + 12345
		// A sparse file: the server reads zeros, nothing takes 4 GiB of disk.
		f, err := os.Create(filepath.Join(b.srv.Root, "sparse.bin"))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Truncate(f.Name(), size); err != nil {
			t.Fatal(err)
		}
		out, tr, err := scenario.CurlOutput(b.ctx(t), b.tp, scenario.EPSV, "-o", "/dev/null", "-w", "%{size_download}",
			scenario.URL(b.srv, b.tp.ServerV4, "sparse.bin"))
		if err != nil {
			t.Fatalf("RETR of %d bytes: %v\n%s", size, err, tail(tr, 20))
		}
		if n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64); n != size {
			t.Fatalf("curl got %s bytes, want %d", out, size)
		}
		rec, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Arg == "sparse.bin" })
		if !ok || rec.BytesToClient != size || rec.Reply != 226 {
			t.Fatalf("record: %+v (found %v)", rec, ok)
		}
	})
}
