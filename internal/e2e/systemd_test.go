package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// notifySocket listens like systemd's notify socket; next returns the next datagram (""
// after 20 s without one).
func notifySocket(t *testing.T) (string, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, func() string {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
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
