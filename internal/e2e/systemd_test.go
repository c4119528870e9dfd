package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/sdnotify"
)

// notifySocket listens like systemd's notify socket; next returns the next datagram (""
// after 20 s without one).
func notifySocket(t *testing.T) (string, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	r, err := sdnotify.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return path, func() string {
		got, _ := r.Next(20 * time.Second)
		return got
	}
}

// TestSystemdNotify: started as systemd starts a Type=notify service, ftpgate says READY=1
// only once its control listener, its table and its routing are up; a reload is framed by
// RELOADING=1 and READY=1 (its STATUS says whether it failed); SIGTERM sends STOPPING=1. A
// start-up error with -log-format json is a JSON record.
func TestSystemdNotify(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small})
	if err := b.gw.Stop(); err != nil { // this test runs its own gateway
		t.Fatal(err)
	}
	ctx := b.ctx(t)
	cfg := filepath.Join(t.TempDir(), "ftpgate.yaml")
	good := "version: 1\nservices:\n  - {name: all, policy: readwrite}\n"
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	sock, next := notifySocket(t)
	args := []string{"NOTIFY_SOCKET=" + sock, gatewayBin, "run", "--log-format", "json", "-c", cfg, "-control-socket", ""}
	if proxyPass {
		args = append(args, "-kernel-path=false")
	}
	p, err := b.tp.Start(b.tp.GW, "env", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	ready := next()
	if !strings.Contains(ready, "READY=1") || !strings.Contains(ready, "STATUS=serving") {
		t.Fatalf("first notification %q, want READY=1 and a status", ready)
	}
	// At READY the listener accepts, and the table and routing are there.
	c, err := b.tp.DialContext(ctx, b.tp.GW, "tcp", "127.0.0.1:2121")
	if err != nil {
		t.Fatalf("READY before the control listener: %v", err)
	}
	c.Close()
	if _, err := scenario.NftTable(ctx, b.tp, "ftpgate"); err != nil {
		t.Fatalf("READY before the table: %v", err)
	}
	if rules, _, _ := b.tp.Exec(ctx, b.tp.GW, "ip", "rule", "list"); !strings.Contains(rules, "fwmark") {
		t.Fatalf("READY before the routing:\n%s", rules)
	}
	dst := filepath.Join(b.tp.Dir, "notify.bin")
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("%v\n%s", err, tail(tr, 10))
	}
	pid := gatewayPID(t, p)
	reload := func(wantStatus string) {
		t.Helper()
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if got := next(); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
			t.Fatalf("on SIGHUP: %q, want RELOADING=1 with MONOTONIC_USEC", got)
		}
		if got := next(); !strings.HasPrefix(got, "READY=1\n") || !strings.Contains(got, wantStatus) {
			t.Fatalf("after the reload: %q, want READY=1 and %q", got, wantStatus)
		}
	}
	reload("configuration reloaded")
	if err := os.WriteFile(cfg, []byte("version: 1\nservices: [broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload("the last reload failed")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := next(); !strings.HasPrefix(got, "STOPPING=1") {
		t.Fatalf("on SIGTERM: %q, want STOPPING=1", got)
	}
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("ftpgate did not exit after SIGTERM")
	}
	if _, err := scenario.NftTable(ctx, b.tp, "ftpgate"); err == nil {
		t.Error("the table is still there after the stop")
	}

	// A start-up error under -log-format json is one JSON record with the exit status.
	_, stderr, err := b.tp.Exec(ctx, b.tp.GW, gatewayBin, "run", "--log-format", "json", "-c", filepath.Join(t.TempDir(), "missing.yaml"))
	var rec map[string]any
	if err == nil || json.Unmarshal([]byte(strings.TrimSpace(stderr)), &rec) != nil || rec["msg"] != "ftpgate cannot start" ||
		rec["exit_status"] != float64(2) || !strings.Contains(fmt.Sprint(rec["err"]), "missing.yaml") {
		t.Errorf("start-up error: %v, stderr %q", err, stderr)
	}
}

// TestStopGrace: on SIGTERM ftpgate takes no new session, ends idle ones at once, and lets
// a running download finish within -stop-grace (the client gets the whole file), then
// removes its table and routing; with a grace too short for the transfer it is cut, and
// ftpgate still exits with nothing left.
func TestStopGrace(t *testing.T) {
	// 6 MiB at 1 MiB/s: about 6 s, but ftpgate has passed it all in less than a second (the
	// client's socket buffers take it); 64 MiB keeps ftpgate relaying past a 1 s grace.
	b := newBed(t, map[string]int64{"slow.bin": 6 << 20, "long.bin": 64 << 20})
	if err := b.gw.Stop(); err != nil { // this test runs its own gateways
		t.Fatal(err)
	}
	ctx := b.ctx(t)
	for _, c := range []struct {
		grace, file string
		complete    bool
	}{{"60s", "slow.bin", true}, {"1s", "long.bin", false}} {
		t.Run("grace "+c.grace, func(t *testing.T) {
			gw, err := startGateway(ctx, b.tp, "-stop-grace", c.grace, "-kernel-path=false")
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(b.tp.Dir, "slow-"+c.grace)
			done := make(chan error, 1)
			go func() {
				tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "--limit-rate", "1M", "-o", dst, scenario.URL(b.srv, b.tp.ServerV4, c.file))
				if err != nil {
					err = fmt.Errorf("%w\n%s", err, tail(tr, 5))
				}
				done <- err
			}()
			for i := 0; ; i++ { // the transfer is running
				if st, err := os.Stat(dst); err == nil && st.Size() > 0 {
					break
				}
				if i == 200 {
					t.Fatal("the download did not start")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := syscall.Kill(gatewayPID(t, gw.Proc), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			// Draining: a new session is not served.
			if _, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", "/dev/null", "--max-time", "5", scenario.URL(b.srv, b.tp.ServerV4, "slow.bin")); err == nil {
				t.Error("a new session was served while ftpgate was stopping")
			}
			err = <-done
			if c.complete {
				if err != nil {
					t.Fatalf("the running download did not finish within the grace: %v\n%s", err, tail(gw.LogText(), 20))
				}
				if sha(t, dst) != b.sums[c.file] {
					t.Fatal("the download finished with other bytes")
				}
			} else if err == nil {
				t.Fatal("a download longer than the grace finished")
			}
			select {
			case <-gw.Proc.Done():
			case <-time.After(90 * time.Second):
				t.Fatal("ftpgate did not exit")
			}
			if len(gw.Logs("ftpgate stopping: no new sessions; running transfers may finish")) != 1 {
				t.Error("no drain line in the log")
			}
			if _, err := scenario.NftTable(ctx, b.tp, "ftpgate"); err == nil {
				t.Error("the table is still there after the stop")
			}
			if rules, _, _ := b.tp.Exec(ctx, b.tp.GW, "ip", "rule", "list"); strings.Contains(rules, "fwmark") {
				t.Errorf("the policy routing is still there:\n%s", rules)
			}
		})
	}
}
