package testbed

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZDebugPro(t *testing.T) {
	tp := New(t, Options{Forward: true})
	ctx := context.Background()
	t0 := time.Now()
	srv, err := tp.StartProFTPd(ctx, ProOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("start", time.Since(t0))
	srv.MakeFile("f", 1000)
	for i := 0; i < 4; i++ {
		o, _, _ := tp.Exec(ctx, tp.Client, "python3", "/tmp/pftest/ban.py", "203.0.113.2")
		t.Log(i, o)
	}
	t0 = time.Now()
	out, stderr, err := tp.Exec(ctx, tp.Client, "python3", "/tmp/pftest/ban.py", "203.0.113.2")
	t.Log("get", time.Since(t0), out, stderr, err)
	t0 = time.Now()
	t.Log(srv.Stop(), time.Since(t0))
	for _, f := range []string{"pure-ftpd/xfer4.log"} {
		b, _ := os.ReadFile(filepath.Join(tp.Dir, f))
		t.Log(f, string(b))
	}
	ms, _ := filepath.Glob(filepath.Join(tp.Dir, "*.log"))
	for _, f := range ms {
		b, _ := os.ReadFile(f)
		t.Log(f, string(b))
	}
}

func itoa(p *Proc) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/task/" + strconv.Itoa(p.Pid()) + "/children")
	c, _ := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/task/" + strings.TrimSpace(string(b)) + "/children")
	return strings.TrimSpace(string(c))
}
