package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// TestSIGHUPAtStart: a SIGHUP that comes while the gateway is still starting (after the
// configuration loaded, before it serves) does not kill it: it starts, serves a transfer,
// and stops cleanly on SIGTERM.
func TestSIGHUPAtStart(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small})
	if err := b.gw.Stop(); err != nil {
		t.Fatalf("stop the bed's gateway: %v", err)
	}
	p, err := b.tp.Start(b.tp.GW, gatewayBin, "run", "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	gw := &scenario.Gateway{Proc: p}
	waitLog := func(msg string) bool {
		for i := 0; i < 300; i++ { // at most 15 s
			if len(gw.Logs(msg)) > 0 {
				return true
			}
			select {
			case <-p.Done():
				return false
			case <-time.After(50 * time.Millisecond):
			}
		}
		return false
	}
	// The SIGHUP goes straight to ftpgate (not through the test bed's reaper) the moment its
	// log says the configuration loaded: well inside its start-up, before it serves.
	loaded := false
	for i := 0; i < 15000 && !loaded; i++ { // at most about 15 s
		loaded = strings.Contains(gw.LogText(), `"msg":"configuration loaded"`)
		if !loaded {
			time.Sleep(time.Millisecond)
		}
	}
	if !loaded {
		t.Fatalf("gateway did not load its configuration: %v\n%s", p.Err(), tail(gw.LogText(), 10))
	}
	if err := syscall.Kill(gatewayPID(t, p), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP: %v", err)
	}
	if !waitLog("ftpgate running") {
		t.Fatalf("gateway did not survive a SIGHUP at start: %v\n%s", p.Err(), tail(gw.LogText(), 10))
	}
	ctx := b.ctx(t)
	dst := b.tp.Dir + "/after-hup.bin"
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("transfer: %v\n%s", err, tail(tr, 20))
	}
	if sha(t, dst) != b.sums["small.bin"] {
		t.Fatal("checksum differs")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, tail(gw.LogText(), 10))
	}
	if !strings.Contains(gw.LogText(), `"msg":"ftpgate stopped"`) {
		t.Errorf("no clean stop:\n%s", tail(gw.LogText(), 10))
	}
}
