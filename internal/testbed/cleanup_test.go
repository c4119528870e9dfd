package testbed

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNewForDemoClose(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("testbed: needs root for network namespaces")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tp, closeFn, err := NewForDemo(ctx, filepath.Join(t.TempDir(), "demo"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = closeFn()
		}
	}()
	var procs []*Proc
	for _, ns := range tp.Namespaces() {
		p, err := tp.Start(ns, "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	before := netnsList(t)
	for _, ns := range tp.Namespaces() {
		if !strings.Contains(before, ns) {
			t.Fatalf("namespace %s missing from `ip netns list`:\n%s", ns, before)
		}
	}
	closed = true
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
	after := netnsList(t)
	for _, ns := range tp.Namespaces() {
		if strings.Contains(after, ns) {
			t.Errorf("namespace %s still listed after close:\n%s", ns, after)
		}
	}
	for _, p := range procs {
		select {
		case <-p.Done():
		default:
			t.Errorf("pid %d still running after close", p.Pid())
		}
	}
	if err := closeFn(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := tp.Start(tp.Client, "true"); err == nil {
		t.Error("Start after close succeeded")
	}
}

func netnsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, out)
	}
	return string(out)
}

func TestProc(t *testing.T) {
	tp := New(t, Options{})

	t.Run("exit status", func(t *testing.T) {
		p, err := tp.Start(tp.GW, "sh", "-c", "echo hi; exit 3")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("sh did not exit")
		}
		if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("Stop = %v, want exit status 3", err)
		}
		if b, _ := os.ReadFile(p.Log); string(b) != "hi\n" {
			t.Errorf("log %q", b)
		}
	})

	t.Run("orphans are killed and reaped", func(t *testing.T) {
		pidFile := filepath.Join(tp.Dir, "orphan.pid")
		p, err := tp.Start(tp.Server, "sh", "-c",
			`setsid sh -c 'echo $$ >"$1"; exec sleep 600' sh "$1" & exec sleep 600`, "sh", pidFile)
		if err != nil {
			t.Fatal(err)
		}
		var orphan int
		for i := 0; i < 100 && orphan == 0; i++ {
			b, _ := os.ReadFile(pidFile)
			orphan, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			time.Sleep(20 * time.Millisecond)
		}
		if orphan == 0 {
			t.Fatal("no orphan pid")
		}
		start := time.Now()
		if err := p.Stop(); err != nil {
			t.Errorf("Stop = %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Stop took %v", d)
		}
		if err := syscall.Kill(orphan, 0); err == nil {
			t.Errorf("orphan %d survived Stop (state %s)", orphan, procState(orphan))
		}
	})

	t.Run("SIGTERM ignored", func(t *testing.T) {
		if testing.Short() {
			t.Skip("takes 5s")
		}
		p, err := tp.Start(tp.Client, "sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Stop = %v, want an error about SIGKILL", err)
		}
		if d := time.Since(start); d < stopGrace || d > stopGrace+3*time.Second {
			t.Errorf("Stop took %v", d)
		}
	})
}

func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return err.Error()
	}
	return string(b)
}
