package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

const (
	small = 1 << 20
	big   = 64 << 20
)

// TestTransfers moves real files through ftpgate with curl and lftp in every data mode, over
// IPv4 and IPv6, and checks the bytes, the transfer records and what the server saw.
func TestTransfers(t *testing.T) {
	// The proxy path, whose records count bytes exactly (TestKernelPath: the kernel path).
	b := newBed(t, map[string]int64{"small.bin": small, "big.bin": big}, "-kernel-path=false")
	upload := filepath.Join(b.tp.Dir, "upload.bin")
	upSum, err := testbed.MakeFile(upload, small)
	if err != nil {
		t.Fatal(err)
	}
	out, err := scenario.NftTable(b.ctx(t), b.tp, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"set data4", "set data6", "socket transparent 1", "tproxy to :2121", "@data4", "@data6"} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list table inet %s lacks %q:\n%s", table, want, out)
		}
	}

	for _, v6 := range []bool{false, true} {
		addr := b.tp.ServerV4
		fam := "v4"
		if v6 {
			addr, fam = b.tp.ServerV6, "v6"
		}
		for _, m := range scenario.Modes(v6) {
			t.Run(fmt.Sprintf("curl/%s/%s", fam, m), func(t *testing.T) {
				ctx := b.ctx(t)
				for _, name := range []string{"small.bin", "big.bin"} {
					dst := filepath.Join(b.tp.Dir, fmt.Sprintf("curl-%s-%s-%s", fam, m, name))
					if tr, err := scenario.Curl(ctx, b.tp, m, "-o", dst, scenario.URL(b.srv, addr, name)); err != nil {
						t.Fatalf("RETR %s: %v\n%s", name, err, tail(tr, 30))
					}
					if got := sha(t, dst); got != b.sums[name] {
						t.Fatalf("RETR %s: sha256 %s, want %s", name, got, b.sums[name])
					}
					os.Remove(dst)
				}
				up := fmt.Sprintf("up-curl-%s-%s.bin", fam, m)
				if tr, err := scenario.Curl(ctx, b.tp, m, "-T", upload, scenario.URL(b.srv, addr, up)); err != nil {
					t.Fatalf("STOR: %v\n%s", err, tail(tr, 30))
				}
				if got := sha(t, filepath.Join(b.srv.Root, up)); got != upSum {
					t.Fatalf("STOR: server file sha256 %s, want %s", got, upSum)
				}
				list := filepath.Join(b.tp.Dir, fmt.Sprintf("list-%s-%s", fam, m))
				if tr, err := scenario.Curl(ctx, b.tp, m, "-o", list, scenario.URL(b.srv, addr, "")); err != nil {
					t.Fatalf("LIST: %v\n%s", err, tail(tr, 30))
				}
				if l, _ := os.ReadFile(list); !strings.Contains(string(l), "big.bin") || !strings.Contains(string(l), up) {
					t.Fatalf("LIST lacks big.bin or %s:\n%s", up, l)
				}
			})
		}
		lftpModes := []scenario.Mode{scenario.PASV, scenario.EPSV, scenario.PORT}
		if v6 {
			lftpModes = []scenario.Mode{scenario.EPSV, scenario.EPRT}
		}
		for _, m := range lftpModes {
			t.Run(fmt.Sprintf("lftp/%s/%s", fam, m), func(t *testing.T) {
				ctx := b.ctx(t)
				dst := filepath.Join(b.tp.Dir, fmt.Sprintf("lftp-%s-%s.bin", fam, m))
				up := fmt.Sprintf("up-lftp-%s-%s.bin", fam, m)
				script := fmt.Sprintf("get small.bin -o %s; put %s -o %s", dst, upload, up)
				if tr, err := scenario.Lftp(ctx, b.tp, b.srv, addr, m, script); err != nil {
					t.Fatalf("%v\n%s", err, tail(tr, 40))
				}
				if got := sha(t, dst); got != b.sums["small.bin"] {
					t.Fatalf("get: sha256 %s, want %s", got, b.sums["small.bin"])
				}
				if got := sha(t, filepath.Join(b.srv.Root, up)); got != upSum {
					t.Fatalf("put: server file sha256 %s, want %s", got, upSum)
				}
			})
		}
	}
	if t.Failed() {
		return
	}

	t.Run("records", func(t *testing.T) {
		// 6 curl sessions fetched big.bin; every record must carry all of it.
		r := b.gw.Records()
		var bigs, stors int
		for _, rec := range r {
			switch {
			case rec.Command == "RETR" && rec.Arg == "big.bin":
				bigs++
				if rec.BytesToClient != big || rec.Reply != 226 || rec.Direction != "download" || rec.User != b.srv.User {
					t.Errorf("big.bin record %+v", rec)
				}
				checkDigest(t, rec, b.sums["big.bin"], big)
			case rec.Command == "STOR":
				stors++
				if rec.BytesToServer != small || rec.Reply != 226 || rec.Direction != "upload" {
					t.Errorf("STOR record %+v", rec)
				}
				checkDigest(t, rec, upSum, small)
			}
			if c := netip.MustParseAddr(rec.Client); c != b.tp.ClientV4 && c != b.tp.ClientV6 {
				t.Errorf("record client %s", rec.Client)
			}
		}
		if bigs != 6 || stors != 6+5 {
			t.Errorf("records: %d RETR big.bin (want 6), %d STOR (want 11)", bigs, stors)
		}
	})

	t.Run("server sees the client's address", func(t *testing.T) {
		logs, _ := filepath.Glob(filepath.Join(b.tp.Dir, "*", "xferlog*.log"))
		logs2, _ := filepath.Glob(filepath.Join(b.tp.Dir, "xferlog*.log"))
		var all string
		for _, p := range append(logs, logs2...) {
			c, _ := os.ReadFile(p)
			all += string(c)
		}
		for _, a := range []netip.Addr{b.tp.ClientV4, b.tp.ClientV6} {
			if !strings.Contains(all, a.String()) {
				t.Errorf("vsftpd's transfer log never names the client %s:\n%s", a, tail(all, 10))
			}
		}
		for _, a := range []netip.Addr{b.tp.GWServerV4, b.tp.GWServerV6} {
			if strings.Contains(all, a.String()) {
				t.Errorf("vsftpd's transfer log names the gateway %s", a)
			}
		}
	})

	t.Run("no element left", func(t *testing.T) {
		els, err := scenario.Elements(b.ctx(t), b.tp, table)
		if err != nil {
			t.Fatal(err)
		}
		if len(els) != 0 {
			t.Errorf("elements left after all sessions ended: %v", els)
		}
	})
}
