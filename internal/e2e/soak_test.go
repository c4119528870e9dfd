//go:build soak

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// stat is one "stats" line of the gateway.
type stat struct {
	at                                            time.Time
	sessions, expectations, goroutines, openFiles int
	rss                                           int64
}

// stats returns the gateway's stats lines so far.
func stats(gw *scenario.Gateway) []stat {
	var out []stat
	for _, l := range gw.Logs("stats") {
		at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"]))
		num := func(k string) int64 { f, _ := l[k].(float64); return int64(f) }
		out = append(out, stat{at: at, sessions: int(num("sessions")), expectations: int(num("expectations")),
			goroutines: int(num("goroutines")), openFiles: int(num("open_files")), rss: num("rss_bytes")})
	}
	return out
}

// TestSoak (build tag soak; `make soak`, 30 minutes, or SOAK=3m as in CI) runs mixed
// real-client traffic through ftpgate for FTPGATE_SOAK: plain and FTPS, every mode, IPv4
// and IPv6, curl, lftp and ftplib, downloads and uploads. The gateway logs a stats line at
// intervals; at the end sessions and expectations are back to zero, goroutines and open
// files to where they were before the traffic, resident memory no higher than it was in the
// first third of the run (plus slack), and no transfer failed.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("FTPGATE_SOAK"))
	if err != nil || d <= 0 {
		t.Fatalf("FTPGATE_SOAK=%q: want a duration such as 30m", os.Getenv("FTPGATE_SOAK"))
	}
	interval := min(max(d/12, 5*time.Second), time.Minute)
	fb := newFTPSBed(t, testbed.TLSOptions{RequireReuse: true}, map[string]int64{"small.bin": small, "mid.bin": 4 << 20})
	b := fb.bed
	if err := b.gw.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx := b.ctx(t)
	gw, err := startGateway(ctx, b.tp, "-c", fb.cfg, "--stats-interval", interval.String())
	if err != nil {
		t.Fatal(err)
	}
	b.gw = gw
	for i := 0; i < 100 && len(stats(gw)) == 0; i++ {
		time.Sleep(interval / 20)
	}
	base := stats(gw)[0]
	upload := filepath.Join(b.tp.Dir, "soak-up.bin")
	if _, err := testbed.MakeFile(upload, 1<<20); err != nil {
		t.Fatal(err)
	}
	gwCA := fb.gwPKI.CACert
	deadline := time.Now().Add(d)
	runs, fails := 0, 0
	for iter := 0; time.Now().Before(deadline); iter++ {
		for _, v6 := range []bool{false, true} {
			addr := b.tp.ServerV4
			if v6 {
				addr = b.tp.ServerV6
			}
			for _, m := range scenario.Modes(v6) {
				name := fmt.Sprintf("soak-%d-%v-%s", iter, v6, m)
				steps := []func() (string, error){
					func() (string, error) {
						return scenario.Curl(b.ctx(t), b.tp, m, "-o", "/dev/null", scenario.URL(b.srv, addr, "mid.bin"))
					},
					func() (string, error) {
						return scenario.Curl(b.ctx(t), b.tp, m, "-T", upload, scenario.URL(b.srv, addr, name+".bin"))
					},
					func() (string, error) {
						res, err := scenario.PyTLS(b.ctx(t), b.tp, b.srv, addr, m, scenario.PyTLSOptions{CAFile: gwCA, Reuse: true}, "get:small.bin:/dev/null", "list")
						return res.Transcript, err
					},
				}
				if m == scenario.EPSV || m == scenario.PASV {
					steps = append(steps, func() (string, error) {
						return scenario.CurlTLSVerify(b.ctx(t), b.tp, m, gwCA, "-o", "/dev/null", scenario.URL(b.srv, addr, "small.bin"))
					})
				}
				if m != scenario.EPRT || v6 {
					steps = append(steps, func() (string, error) {
						dst := filepath.Join(b.tp.Dir, name+"-lftp")
						defer os.Remove(dst)
						return scenario.Lftp(b.ctx(t), b.tp, b.srv, addr, m, "get small.bin -o "+dst+"; ls")
					})
				}
				for _, run := range steps {
					runs++
					if tr, err := run(); err != nil {
						fails++
						t.Errorf("%s: %v\n%s\ngateway lines naming its data ports:\n%s", name, err, tail(tr, 10), portLines(gw.LogText(), tr))
					}
				}
				os.Remove(filepath.Join(b.srv.Root, name+".bin"))
			}
		}
	}
	// Let the last sessions end and two stats lines pass.
	time.Sleep(2*interval + time.Second)
	all := stats(gw)
	final := all[len(all)-1]
	var early int64
	for _, s := range all {
		if s.at.Before(base.at.Add(d/3)) && s.rss > early {
			early = s.rss
		}
	}
	t.Logf("soak %s: %d client runs, %d failed; stats every %s:", d, runs, fails, interval)
	for _, s := range all {
		t.Logf("  %s sessions=%d expectations=%d goroutines=%d open_files=%d rss=%.1fMiB",
			s.at.Format("15:04:05"), s.sessions, s.expectations, s.goroutines, s.openFiles, float64(s.rss)/(1<<20))
	}
	switch {
	case final.sessions != 0 || final.expectations != 0:
		t.Errorf("after the traffic: %d sessions, %d expectations; want 0", final.sessions, final.expectations)
	case final.goroutines > base.goroutines+4:
		t.Errorf("goroutines grew from %d to %d", base.goroutines, final.goroutines)
	case final.openFiles > base.openFiles+4:
		t.Errorf("open files grew from %d to %d", base.openFiles, final.openFiles)
	case final.rss > early*3/2+16<<20:
		t.Errorf("resident memory grew from %d (first third) to %d", early, final.rss)
	}
	if els, _ := scenario.Elements(ctx, b.tp, table); len(els) != 0 {
		t.Errorf("elements left: %v", els)
	}
	if strings.Contains(gw.LogText(), "panic") {
		t.Error("the gateway log shows a panic")
	}
}

// portLines returns the gateway log lines that name a data port the client transcript tr
// tried ("port N" in curl's and lftp's output), the last 20 of them.
func portLines(gwLog, tr string) string {
	var out []string
	for _, m := range regexp.MustCompile(`port (\d{4,5})`).FindAllStringSubmatch(tr, -1) {
		for _, l := range strings.Split(gwLog, "\n") {
			if strings.Contains(l, m[1]) && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return tail(strings.Join(out, "\n"), 20)
}
