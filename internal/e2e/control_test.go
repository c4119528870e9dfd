package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/ftp"
	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/nft"
)

// ctlRun runs `ftpgate args... -socket sock` from the test process (the socket is a file:
// it works across the network namespaces) and returns its output and exit code.
func ctlRun(ctx context.Context, sock string, args ...string) (string, int) {
	out, err := exec.CommandContext(ctx, gatewayBin, append(args, "-socket", sock)...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		return string(out) + err.Error(), -1
	}
	return string(out), 0
}

// ctlSessions lists the sessions with `ftpgate sessions -json`.
func ctlSessions(t *testing.T, ctx context.Context, sock string) []ftp.SessionInfo {
	t.Helper()
	out, code := ctlRun(ctx, sock, "sessions", "-json")
	var ss []ftp.SessionInfo
	if code != 0 || json.Unmarshal([]byte(out), &ss) != nil {
		t.Fatalf("ftpgate sessions -json: exit %d\n%s", code, out)
	}
	return ss
}

// TestControlSocket: a slow download shows in `ftpgate sessions` with its user and its
// live byte count, `ftpgate sessions kill` ends it (curl fails, the transfer record is
// written, the session is gone), `ftpgate status` counts no session, and `ftpgate reload`
// reports a broken configuration (which changes nothing) and a good one.
func TestControlSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "control.sock")
	cfg := filepath.Join(dir, "ftpgate.yaml")
	good := "version: 1\nservices:\n  - name: office\n    policy: readonly\n"
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	// curl's --limit-rate slows its reads only: the socket buffers on the way take several
	// MiB at once, so the file is large enough to still be running when it is killed, and
	// the rate high enough that what the client's kernel already holds (a reset does not
	// take it back) is read within seconds.
	const size = 64 << 20
	b := newBed(t, map[string]int64{"big.bin": size, "small.bin": small}, "-c", cfg, "-control-socket", sock, "-kernel-path=false")
	ctx := b.ctx(t)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("control socket: %v %v", fi, err)
	}

	curlDone := make(chan error, 1)
	go func() {
		tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "--limit-rate", "2M", "-o", filepath.Join(b.tp.Dir, "big.out"),
			scenario.URL(b.srv, b.tp.ServerV4, "big.bin"))
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, tail(tr, 10))
		}
		curlDone <- err
	}()

	// The download shows with its user and a live count, on the proxy path's splice.
	var live ftp.SessionInfo
	for i := 0; i < 100 && (live.Transfer == nil || live.Transfer.Bytes == 0); i++ { // at most ~20 s
		time.Sleep(200 * time.Millisecond)
		for _, s := range ctlSessions(t, ctx, sock) {
			if s.Transfer != nil && s.Transfer.Command == "RETR" {
				live = s
			}
		}
	}
	if tr := live.Transfer; tr == nil || tr.Bytes <= 0 || tr.Bytes >= size || tr.Arg != "big.bin" || tr.Rate <= 0 ||
		live.User != b.srv.User || live.State != ftp.StateTransfer || live.Service != "office" || live.Policy != "readonly" {
		t.Fatalf("no live RETR with bytes in the sessions: %+v %+v", live, live.Transfer)
	}
	table, code := ctlRun(ctx, sock, "sessions")
	if code != 0 || !strings.Contains(table, "RETR big.bin") || !strings.Contains(table, b.srv.User) || !strings.Contains(table, "transfer") {
		t.Fatalf("ftpgate sessions: exit %d\n%s", code, table)
	}
	t.Logf("ftpgate sessions:\n%s", table)

	if out, code := ctlRun(ctx, sock, "sessions", "kill", "999999"); code != 1 || !strings.Contains(out, "no such session") {
		t.Errorf("kill of an unknown session: exit %d\n%s", code, out)
	}
	if out, code := ctlRun(ctx, sock, "sessions", "kill", fmt.Sprint(live.ID)); code != 0 {
		t.Fatalf("kill: exit %d\n%s", code, out)
	}
	select {
	case err := <-curlDone:
		if err == nil {
			t.Fatal("curl succeeded after its session was killed")
		}
	case <-time.After(10 * time.Second): // its data connection was reset: at once
		t.Fatal("curl still runs after its session was killed")
	}
	rec, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" && r.Arg == "big.bin" })
	if !ok || rec.Complete || rec.BytesToClient <= 0 || rec.BytesToClient >= size {
		t.Fatalf("transfer record of the killed download: %+v (found %v)", rec, ok)
	}
	if len(b.gw.Logs("session killed")) != 1 {
		t.Errorf("no log line says who killed the session:\n%s", tail(b.gw.LogText(), 20))
	}
	waitCtl(t, "the killed session to leave the list", func() bool { return len(ctlSessions(t, ctx, sock)) == 0 })
	waitCtl(t, "status to count no session", func() bool {
		out, code := ctlRun(ctx, sock, "status")
		return code == 0 && strings.Contains(out, "sessions:    0") && strings.Contains(out, cfg) && strings.Contains(out, "kernel path: off")
	})

	// A broken configuration: reload fails with the daemon's reason and changes nothing.
	if err := os.WriteFile(cfg, []byte("version: 1\nservcies: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := ctlRun(ctx, sock, "reload"); code != 1 || !strings.Contains(out, "servcies") || !strings.Contains(out, "keeps its running configuration") {
		t.Fatalf("reload of a broken file: exit %d\n%s", code, out)
	}
	if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", filepath.Join(b.tp.Dir, "small.out"), scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
		t.Fatalf("a new session after the failed reload: %v\n%s", err, tail(tr, 20))
	}
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := ctlRun(ctx, sock, "reload"); code != 0 || !strings.Contains(out, "reloaded (1 services)") {
		t.Fatalf("reload of a good file: exit %d\n%s", code, out)
	}
}

// waitCtl polls cond for at most 10 s.
func waitCtl(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 50 {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestControlSocketKernelPath: a download on the kernel path is listed with conntrack's
// estimate of its bytes, and killing its session cuts the kernel's connection (the cut
// mark, whose rule resets it). The client may still read what its kernel had buffered.
func TestControlSocketKernelPath(t *testing.T) {
	needKernelPath(t)
	sock := filepath.Join(t.TempDir(), "control.sock")
	const size = 32 << 20
	b := newBed(t, map[string]int64{"big.bin": size}, "-control-socket", sock)
	ctx := b.ctx(t)
	go scenario.Curl(ctx, b.tp, scenario.EPSV, "--limit-rate", "200k", "-o", filepath.Join(b.tp.Dir, "big.out"),
		scenario.URL(b.srv, b.tp.ServerV4, "big.bin")) // ends with ctx, at the latest
	var live ftp.SessionInfo
	waitCtl(t, "the download in the sessions with bytes", func() bool {
		for _, s := range ctlSessions(t, ctx, sock) {
			if s.Transfer != nil && s.Transfer.Bytes > 0 {
				live = s
				return true
			}
		}
		return false
	})
	if !live.Transfer.Kernel || live.Transfer.Bytes >= size {
		t.Fatalf("kernel path transfer: %+v", live.Transfer)
	}
	if table, _ := ctlRun(ctx, sock, "sessions"); !strings.Contains(table, "~") {
		t.Errorf("the table does not mark the kernel path's bytes as an estimate:\n%s", table)
	}
	if out, code := ctlRun(ctx, sock, "sessions", "kill", fmt.Sprint(live.ID)); code != 0 {
		t.Fatalf("kill: exit %d\n%s", code, out)
	}
	cut := fmt.Sprintf("mark=%d", nft.CutMark)
	waitCtl(t, "the kernel's connection to be cut", func() bool {
		out, _, _ := b.tp.Exec(ctx, b.tp.GW, "cat", "/proc/net/nf_conntrack")
		return strings.Contains(out, cut)
	})
	rec := b.transferLog(t, "RETR", "big.bin")
	if rec["path"] != "kernel" || rec["complete"] != false {
		t.Fatalf("transfer record: %v", rec)
	}
}
