package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const reloadConfig = "version: 1\nservices:\n  - name: s\n    policy: %s\n"

// TestReloadOnSIGHUP: a good file replaces the configuration new sessions get; a broken one
// leaves it in place and says why.
func TestReloadOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ftpgate.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.Replace(reloadConfig, "%s", "readonly", 1))
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg, err := loadConfig(path, true, log)
	if err != nil {
		t.Fatal(err)
	}
	live := &liveConfig{path: path, explicit: true, log: log}
	live.cur.Store(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// SIGHUP must never reach this test process's default action (exit), even before
	// watchReload has registered: catch it here too.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)
	go live.watchReload(ctx)

	policyName := func() string {
		p, _, ok := live.policyFor(netip.MustParseAddrPort("198.51.100.2:4000"), netip.MustParseAddrPort("203.0.113.2:21"))
		if !ok {
			t.Fatal("no service")
		}
		return p.Name
	}
	hup := func(wantLog string) {
		t.Helper()
		n := strings.Count(logs.String(), wantLog)
		// Resent until seen: the first may come before watchReload listens.
		for i := 0; i < 50 && strings.Count(logs.String(), wantLog) == n; i++ {
			syscall.Kill(os.Getpid(), syscall.SIGHUP)
			time.Sleep(100 * time.Millisecond)
		}
		if strings.Count(logs.String(), wantLog) == n {
			t.Fatalf("no %q after SIGHUP; log:\n%s", wantLog, logs.String())
		}
	}
	if got := policyName(); got != "readonly" {
		t.Fatalf("policy %q", got)
	}
	write(strings.Replace(reloadConfig, "%s", "readwrite", 1))
	hup("configuration reloaded")
	if got := policyName(); got != "readwrite" {
		t.Fatalf("after reload: policy %q, want readwrite", got)
	}
	write("version: 2\n")
	hup("configuration reload failed")
	if got := policyName(); got != "readwrite" {
		t.Fatalf("after a failed reload: policy %q, want the running readwrite", got)
	}
	if !strings.Contains(logs.String(), "version") {
		t.Errorf("the failed reload's log line does not say why:\n%s", logs.String())
	}
}

// TestReloadNeverFallsBackToDefault: with the default path (not given with -c), a reload
// after the file was removed keeps the running configuration; the built-in readwrite only
// applies when ftpgate started without a file, until one is loaded.
func TestReloadNeverFallsBackToDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ftpgate.yaml")
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg, err := loadConfig(path, false, log) // no file yet: the built-in default
	if err != nil || cfg.Path != "" {
		t.Fatalf("start without a file: %v, path %q", err, cfg.Path)
	}
	live := &liveConfig{path: path, log: log}
	live.cur.Store(cfg)
	policyName := func() string {
		p, _, ok := live.policyFor(netip.MustParseAddrPort("198.51.100.2:4000"), netip.MustParseAddrPort("203.0.113.2:21"))
		if !ok {
			t.Fatal("no service")
		}
		return p.Name
	}
	if err := os.WriteFile(path, []byte(strings.Replace(reloadConfig, "%s", "readonly", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := live.reload(); err != nil || policyName() != "readonly" {
		t.Fatalf("reload of the new file: %v, policy %q", err, policyName())
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := live.reload(); err == nil {
		t.Fatal("reload of a removed file succeeded")
	}
	if got := policyName(); got != "readonly" {
		t.Fatalf("after the file was removed: policy %q, want the running readonly (never the built-in readwrite)", got)
	}
	if !strings.Contains(logs.String(), "configuration reload failed") {
		t.Errorf("no log line for the failed reload:\n%s", logs.String())
	}
}
