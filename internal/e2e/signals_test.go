package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// TestSIGHUPAtStart: a SIGHUP that comes while the gateway is still starting (after the
// configuration loaded, before it serves) does not kill it: it starts, serves a transfer,
// and stops cleanly on SIGTERM.
func TestSIGHUPAtStart(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small})
	if err := b.gw.Stop(); err != nil {
		t.Fatalf("stop the bed's gateway: %v", err)
	}
	p, err := b.tp.Start(b.tp.GW, gatewayBin, "run", "--log-format", "json", "-control-socket", "")
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

// TestReloadCommand: `ftpgate reload -pid PID [run flags]`, which the unit's ExecReload runs,
// fails with the reason and leaves the daemon alone when the file is broken or gone, and
// makes the daemon reload when it loads: `systemctl reload` sees what happened.
func TestReloadCommand(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ftpgate.yaml")
	good := "version: 1\nservices:\n  - name: office\n    policy: readonly\n"
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBed(t, map[string]int64{"small.bin": small}, "-c", cfg)
	pid := strconv.Itoa(gatewayPID(t, b.gw.Proc))
	ctx := b.ctx(t)
	reload := func() (string, error) {
		// The same flags the gateway runs with, as ExecReload passes $FTPGATE_ARGS (the test
		// bed's gateways have no control socket: reload signals -pid).
		out, err := exec.CommandContext(ctx, gatewayBin, "reload", "-pid", pid, "--log-level", "debug", "-c", cfg, "-control-socket", "").CombinedOutput()
		return string(out), err
	}
	records := func() int {
		return len(b.gw.Logs("configuration reloaded")) + len(grepLines(b.gw.LogText(), "configuration reload failed"))
	}

	for _, c := range []struct{ name, content, want string }{
		{"broken", "version: 1\nservcies: []\n", "servcies"},
		{"gone", "", "no such file"},
	} {
		if c.content == "" {
			os.Remove(cfg)
		} else if err := os.WriteFile(cfg, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		before := records()
		out, err := reload()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, c.want) || !strings.Contains(out, "keeps its running configuration") {
			t.Errorf("reload of a %s file: %v\n%s\nwant exit status 1 naming %q", c.name, err, out, c.want)
		}
		time.Sleep(300 * time.Millisecond) // a SIGHUP, had one been sent, would show by now
		if n := records(); n != before {
			t.Errorf("reload of a %s file reached the daemon:\n%s", c.name, tail(b.gw.LogText(), 5))
		}
	}

	if err := os.WriteFile(cfg, []byte(strings.Replace(good, "readonly", "readwrite", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	before := len(b.gw.Logs("configuration reloaded"))
	if out, err := reload(); err != nil || !strings.Contains(out, "sent SIGHUP") {
		t.Fatalf("reload of a good file: %v\n%s", err, out)
	}
	for i := 0; i < 200 && len(b.gw.Logs("configuration reloaded")) == before; i++ { // at most 10 s
		time.Sleep(50 * time.Millisecond)
	}
	if len(b.gw.Logs("configuration reloaded")) == before {
		t.Fatalf("the daemon did not reload:\n%s", tail(b.gw.LogText(), 5))
	}
	// readwrite applies now: an upload works.
	up := filepath.Join(b.tp.Dir, "up.bin")
	if _, err := testbed.MakeFile(up, 1000); err != nil {
		t.Fatal(err)
	}
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-T", up, scenario.URL(b.srv, b.tp.ServerV4, "up.bin")); err != nil {
		t.Fatalf("upload after reloading readwrite: %v\n%s", err, tail(tr, 20))
	}
}
