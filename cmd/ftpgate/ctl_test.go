package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/control"
	"github.com/ftpgate/ftpgate/ftp"
)

// TestControlCommandsWithoutDaemon: with no daemon on the socket, the commands fail
// clearly, and reload without -pid says how else to reach it.
func TestControlCommandsWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{
		{"sessions", "-socket", sock},
		{"sessions", "kill", "3", "-socket", sock},
		{"sessions", "kill", "-socket", sock, "3"},
		{"status", "-socket", sock},
		{"reload", "-socket", sock},
	} {
		code, _, stderr := runCmd(args...)
		if code != exitError || !strings.Contains(stderr, "socket unreachable") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
	for _, args := range [][]string{
		{"sessions", "kill", "-socket", sock},
		{"sessions", "kill", "x", "-socket", sock},
		{"sessions", "kill", "1", "2"},
		{"status", "extra"},
		{"reload", "-control-socket", ""},
	} {
		if code, _, _ := runCmd(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestPrintSessions(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	var b bytes.Buffer
	printSessions(&b, []ftp.SessionInfo{
		{ID: 4, Client: "10.0.0.2:5000", Server: "10.0.1.2:21", User: "bob", Service: "s", Policy: "p", State: ftp.StateTransfer,
			TLSClient: "TLS1.3", Started: start,
			Transfer: &ftp.TransferInfo{Command: "RETR", Arg: "big.bin", Bytes: 123456, Rate: 204800, Started: start}},
		{ID: 5, Client: "10.0.0.3:5000", Server: "10.0.1.2:21", State: ftp.StateLogin, Started: start},
	}, start)
	for _, want := range []string{"ID ", "RETR big.bin", "123456", "200.0 KiB/s", "TLS1.3/-", "2026-01-02 03:04:05", "login", "2 sessions"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestReloadThroughSocket: reload asks the daemon on the socket, and prints its answer.
func TestReloadThroughSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := control.Listen(ctx, sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	live := &liveConfig{path: filepath.Join(t.TempDir(), "missing.yaml"), explicit: true, log: discardLog()}
	cfg, _ := loadConfig("", false, discardLog())
	live.cur.Store(cfg)
	go s.Serve(ctx, &daemon{started: time.Now(), sessions: &ftp.Server{}, live: live, log: discardLog()})
	code, _, stderr := runCmd("reload", "-socket", sock, "-pid", "1")
	if code != exitError || !strings.Contains(stderr, "keeps its running configuration") || !strings.Contains(stderr, "missing.yaml") {
		t.Fatalf("reload of a missing file: exit %d, %q", code, stderr)
	}
	code, out, _ := runCmd("status", "-socket", sock)
	if code != exitOK || !strings.Contains(out, "sessions:    0") || !strings.Contains(out, "kernel path: off") {
		t.Fatalf("status: exit %d, %q", code, out)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
