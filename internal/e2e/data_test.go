package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// dataConfig is a configuration with one service for everything and the given data policy.
func dataConfig(t *testing.T, path, dataLines string) {
	t.Helper()
	cfg := "version: 1\nservices:\n  - name: all\n    policy: p\npolicies:\n  p:\n    base: readwrite\n" + dataLines
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reload writes the data policy and makes the gateway load it.
func (b *bed) reload(t *testing.T, path, dataLines string) {
	t.Helper()
	dataConfig(t, path, dataLines)
	if msg, err := b.gw.Reload(); err != nil || msg != "configuration reloaded" {
		t.Fatalf("reload: %q, %v", msg, err)
	}
}

// transfers runs, with curl in every client mode the family allows, a RETR and a STOR of
// small.bin and compares checksums.
func (b *bed) transfers(t *testing.T, tag string, families ...bool) {
	t.Helper()
	upload := filepath.Join(b.tp.Dir, "upload-"+tag+".bin")
	upSum, err := testbed.MakeFile(upload, small+12345)
	if err != nil {
		t.Fatal(err)
	}
	for _, v6 := range families {
		addr, fam := b.tp.ServerV4, "v4"
		if v6 {
			addr, fam = b.tp.ServerV6, "v6"
		}
		for _, m := range scenario.Modes(v6) {
			t.Run(fmt.Sprintf("%s/%s/%s", tag, fam, m), func(t *testing.T) {
				ctx := b.ctx(t)
				dst := filepath.Join(b.tp.Dir, fmt.Sprintf("get-%s-%s-%s", tag, fam, m))
				if tr, err := scenario.Curl(ctx, b.tp, m, "-o", dst, scenario.URL(b.srv, addr, "small.bin")); err != nil {
					t.Fatalf("RETR: %v\n%s", err, tail(tr, 25))
				}
				if sha(t, dst) != b.sums["small.bin"] {
					t.Fatal("RETR: checksum differs")
				}
				name := fmt.Sprintf("put-%s-%s-%s.bin", tag, fam, m)
				if tr, err := scenario.Curl(ctx, b.tp, m, "-T", upload, scenario.URL(b.srv, addr, name)); err != nil {
					t.Fatalf("STOR: %v\n%s", err, tail(tr, 25))
				}
				if sha(t, filepath.Join(b.srv.Root, name)) != upSum {
					t.Fatal("STOR: checksum differs on the server")
				}
			})
		}
	}
}

// wantPath checks that the uploads of transfers(t, tag, families...) took path ("kernel" or
// "proxy"), as their transfer records say.
func (b *bed) wantPath(t *testing.T, tag, path string, families ...bool) {
	t.Helper()
	for _, v6 := range families {
		fam := map[bool]string{false: "v4", true: "v6"}[v6]
		for _, m := range scenario.Modes(v6) {
			if r := b.transferLog(t, "STOR", fmt.Sprintf("put-%s-%s-%s.bin", tag, fam, m)); r["path"] != path {
				t.Errorf("%s %s %s: the upload took path %v, want %s", tag, fam, m, r["path"], path)
			}
		}
	}
}

// TestDataModes: every client mode against data_mode keep, passive and active, IPv4 and
// IPv6, then the box's own address toward the server, then data_path proxy; with data_path
// auto only keep takes the kernel path.
func TestDataModes(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ftpgate.yaml")
	dataConfig(t, cfg, "")
	b := newBed(t, map[string]int64{"small.bin": small}, "-c", cfg)
	// What the server is sent for the client's PASV and for its PORT, per mode.
	sent := map[string][2]string{"keep": {`"PASV"`, `"PORT `}, "passive": {`"PASV"`, `"PASV"`}, "active": {`"PORT `, `"PORT `}}
	vlog := filepath.Join(b.tp.Dir, "vsftpd", "vsftpd4.log")
	for _, mode := range []string{"keep", "passive", "active"} {
		b.reload(t, cfg, "    data_mode: "+mode+"\n")
		for i, c := range []string{"PASV", "PORT " + strings.ReplaceAll(b.tp.ClientV4.String(), ".", ",") + ",150,1"} {
			before, _ := os.ReadFile(vlog)
			st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), c)
			after, _ := os.ReadFile(vlog)
			if r := fmt.Sprint(st["0"]["reply"]); !strings.HasPrefix(r, "2") {
				t.Errorf("%s: client %s got %q", mode, c, r)
			}
			if news := string(after[len(before):]); !strings.Contains(news, sent[mode][i]) {
				t.Errorf("%s: for the client's %s the server was not sent %s:\n%s", mode, strings.Fields(c)[0], sent[mode][i], news)
			}
		}
		b.transfers(t, mode, false, true)
		// data_path auto: the kernel path when the server side is set up as the client
		// asked, the proxy path when ftpgate translates the mode.
		b.wantPath(t, mode, map[bool]string{true: "kernel", false: "proxy"}[mode == "keep" && !proxyPass], false, true)
	}
	if t.Failed() {
		return
	}
	for _, mode := range []string{"keep", "passive"} {
		b.reload(t, cfg, "    data_mode: "+mode+"\n    active_source_port: \"20\"\n")
		st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "activesource", "small.bin")
		if st["peer"]["addr"] != b.tp.ServerV4.String() || st["peer"]["port"] != float64(20) {
			t.Errorf("%s, active_source_port 20: data connection came from %v:%v, want %s:20", mode, st["peer"]["addr"], st["peer"]["port"], b.tp.ServerV4)
		}
		if st["final"]["bytes"] != float64(small) || !strings.HasPrefix(fmt.Sprint(st["final"]["reply"]), "226") {
			t.Errorf("%s, active_source_port 20: transfer %v", mode, st["final"])
		}
	}
	b.reload(t, cfg, "    server_address: box\n")
	b.transfers(t, "box", false, true)
	b.wantPath(t, "box", "proxy", false, true) // the box's own address: the proxy path
	b.reload(t, cfg, "    server_address: "+b.tp.GWServerV4.String()+"\n")
	b.transfers(t, "box-address", false, true)
	b.wantPath(t, "box-address", "proxy", false)
	b.reload(t, cfg, "    data_path: proxy\n")
	b.transfers(t, "proxy", false, true)
	b.wantPath(t, "proxy", "proxy", false, true)
	// vsftpd saw the gateway, not the client, in box mode.
	c, _ := os.ReadFile(filepath.Join(b.tp.Dir, "vsftpd", "vsftpd4.log"))
	if !strings.Contains(string(c), `Client "`+b.tp.GWServerV4.String()+`"`) {
		t.Errorf("in box mode vsftpd never saw the gateway's address %s", b.tp.GWServerV4)
	}
}

// TestSecondServer runs the keep-mode matrix against pure-ftpd.
func TestSecondServer(t *testing.T) {
	start := func(tp *testbed.Topology, ctx context.Context) (*testbed.FTPServer, error) {
		return tp.StartPureFTPd(ctx, testbed.PureOptions{})
	}
	b := newBedWith(t, start, map[string]int64{"small.bin": small})
	b.transfers(t, "pure-ftpd", false, true)

	t.Run("APPE", func(t *testing.T) {
		extra := filepath.Join(b.tp.Dir, "extra.bin")
		if err := os.WriteFile(extra, []byte("appended"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := b.srv.MakeFile("grow.bin", 1000); err != nil {
			t.Fatal(err)
		}
		if tr, err := scenario.Curl(b.ctx(t), b.tp, scenario.EPSV, "--append", "-T", extra, scenario.URL(b.srv, b.tp.ServerV4, "grow.bin")); err != nil {
			t.Fatalf("APPE: %v\n%s", err, tail(tr, 20))
		}
		if fi, err := os.Stat(filepath.Join(b.srv.Root, "grow.bin")); err != nil || fi.Size() != 1008 {
			t.Fatalf("after APPE: %v, %v; want 1008 bytes", fi, err)
		}
		if rec, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "APPE" }); !ok || rec.BytesToServer != 8 || !rec.Complete {
			t.Fatalf("APPE record %+v (found %v)", rec, ok)
		}
	})

	t.Run("SIZE MDTM MLST MLSD STOU", func(t *testing.T) {
		st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "misc", "small.bin")
		want := map[string]string{"SIZE": fmt.Sprintf("213 %d", small), "MDTM": "213 ", "MLST": "250", "STOU": "226"}
		for step, prefix := range want {
			if r := fmt.Sprint(st[step]["reply"]); !strings.HasPrefix(r, prefix) {
				t.Errorf("%s: %q, want %s…", step, r, prefix)
			}
		}
		if names := fmt.Sprint(st["MLSD"]["names"]); !strings.Contains(names, "small.bin") {
			t.Errorf("MLSD: %v", st["MLSD"])
		}
		for _, verb := range []string{"MLSD", "STOU"} {
			if rec, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == verb }); !ok || !rec.Complete {
				t.Errorf("%s record %+v (found %v)", verb, rec, ok)
			}
		}
	})
}

// TestPasvAddress: a server announcing a foreign address in 227 is refused under
// pasv_address enforce and works under rewrite.
func TestPasvAddress(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ftpgate.yaml")
	dataConfig(t, cfg, "")
	nat := netip.MustParseAddr("198.51.100.77")
	start := func(tp *testbed.Topology, ctx context.Context) (*testbed.FTPServer, error) {
		return tp.StartVsftpdWith(ctx, testbed.VsftpdOptions{PasvAddress: nat})
	}
	b := newBedWith(t, start, map[string]int64{"small.bin": small}, "-c", cfg)
	server := b.tp.ServerV4.String()
	st := b.steps(t, server, b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), "PASV")
	if got := fmt.Sprint(st["0"]["reply"]); !strings.HasPrefix(got, "425") {
		t.Fatalf("enforce: PASV %q, want 425", got)
	}
	if !strings.Contains(b.gw.LogText(), "server announced a foreign address") {
		t.Error("the refusal was not logged")
	}
	b.reload(t, cfg, "    pasv_address: rewrite\n")
	st = b.steps(t, server, b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), "PASV")
	if got := fmt.Sprint(st["0"]["reply"]); !strings.Contains(got, "203,0,113,2,") {
		t.Fatalf("rewrite: PASV %q, want the server's own address", got)
	}
	dst := filepath.Join(b.tp.Dir, "nat.bin")
	// --no-ftp-skip-pasv-ip makes curl use the 227's address, as older clients do.
	if tr, err := scenario.Curl(b.ctx(t), b.tp, scenario.PASV, "--no-ftp-skip-pasv-ip", "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("RETR under rewrite: %v\n%s", err, tail(tr, 20))
	}
	if sha(t, dst) != b.sums["small.bin"] {
		t.Fatal("checksum differs")
	}
}

// TestEPSVRefused: a server without EPSV (proftpd answers 501) reached by a client that
// insists on EPSV: ftpgate asks the server with PASV and answers the client 229.
func TestEPSVRefused(t *testing.T) {
	start := func(tp *testbed.Topology, ctx context.Context) (*testbed.FTPServer, error) {
		return tp.StartProFTPd(ctx, testbed.ProOptions{DenyEPSV: true})
	}
	b := newBedWith(t, start, map[string]int64{"small.bin": small})
	st := b.steps(t, b.tp.ServerV4.String(), b.srv.User, b.srv.Pass, "session", b.tp.ClientV4.String(), "EPSV")
	if got := fmt.Sprint(st["0"]["reply"]); !strings.HasPrefix(got, "229") {
		t.Fatalf("EPSV toward a server without EPSV: %q, want 229", got)
	}
	dst := filepath.Join(b.tp.Dir, "epsv.bin")
	tr, err := scenario.Curl(b.ctx(t), b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin"))
	if err != nil {
		t.Fatalf("curl EPSV: %v\n%s", err, tail(tr, 20))
	}
	if strings.Contains(tr, "> PASV") || !strings.Contains(tr, "< 229") {
		t.Fatalf("curl had to fall back itself:\n%s", tail(tr, 20))
	}
	if sha(t, dst) != b.sums["small.bin"] {
		t.Fatal("checksum differs")
	}
}
