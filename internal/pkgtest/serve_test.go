package pkgtest

import (
	"cmp"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// checkServes runs the installed daemon with the unit's ExecStart command line, $FTPGATE_ARGS
// from the installed /etc/default/ftpgate, as the unit's User and Group with only its
// AmbientCapabilities (setpriv), in a test bed's gateway namespace, and moves a file each
// way through it with curl. A clean stop must leave no table and no routing behind.
func checkServes(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tp := testbed.New(t, testbed.Options{})
	srv, err := tp.StartVsftpd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := srv.MakeFile("pkg.bin", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	p := startPackaged(ctx, t, tp)

	dst := filepath.Join(tp.Dir, "pkg.bin")
	if tr, err := scenario.Curl(ctx, tp, scenario.PASV, "-o", dst, scenario.URL(srv, tp.ServerV4, "pkg.bin")); err != nil {
		t.Fatalf("RETR through the packaged ftpgate: %v\n%s\ngateway log:\n%s", err, tr, readLog(p))
	}
	if got := sha(t, dst); got != sum {
		t.Errorf("RETR: sha256 %s, want %s", got, sum)
	}
	if tr, err := scenario.Curl(ctx, tp, scenario.EPSV, "-T", dst, scenario.URL(srv, tp.ServerV6, "up.bin")); err != nil {
		t.Fatalf("STOR (IPv6) through the packaged ftpgate: %v\n%s\ngateway log:\n%s", err, tr, readLog(p))
	}
	if got := sha(t, filepath.Join(srv.Root, "up.bin")); got != sum {
		t.Errorf("STOR: sha256 %s, want %s", got, sum)
	}
	if log := readLog(p); !strings.Contains(log, "msg=transfer") {
		t.Errorf("the gateway logged no transfer record:\n%s", log)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("the packaged ftpgate did not stop cleanly: %v\n%s", err, readLog(p))
	}
	left, err := scenario.Leftovers(ctx, tp, "ftpgate")
	if err != nil || len(left) > 0 {
		t.Errorf("after a clean stop: left %v (%v)", left, err)
	}
}

// startPackaged starts the packaged daemon as its unit would and waits until it serves.
func startPackaged(ctx context.Context, t *testing.T, tp *testbed.Topology) *testbed.Proc {
	t.Helper()
	unitText, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(unitText)
	env, err := envFile(strings.TrimPrefix(unitValue(unit, "EnvironmentFile"), "-"))
	if err != nil {
		t.Fatal(err)
	}
	argv := execArgs(unitValue(unit, "ExecStart"), env)
	if len(argv) < 2 || argv[0] != binPath || argv[1] != "run" {
		t.Fatalf("%s: ExecStart %q, want %s run …", unitPath, argv, binPath)
	}
	// setpriv gives the process what the unit's User=, Group= and capability lines give it.
	var caps []string
	for _, c := range strings.Fields(unitValue(unit, "AmbientCapabilities")) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	capName := strings.Join(caps, ",")
	args := []string{
		"--reuid=" + unitValue(unit, "User"), "--regid=" + unitValue(unit, "Group"), "--clear-groups",
		"--inh-caps=" + capName, "--ambient-caps=" + capName, "--bounding-set=-all," + capName, "--no-new-privs", "--",
	}
	if rd := unitValue(unit, "RuntimeDirectory"); rd != "" {
		runtimeDir(t, "/run/"+rd, unitValue(unit, "RuntimeDirectoryMode"), unitValue(unit, "User"), unitValue(unit, "Group"))
	}
	p, err := tp.Start(tp.GW, "setpriv", append(args, argv...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if strings.Contains(readLog(p), "ftpgate running") {
			return p
		}
		select {
		case <-p.Done():
			t.Fatalf("the packaged ftpgate exited at start: %v\n%s", p.Err(), readLog(p))
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("the packaged ftpgate did not start in 15s:\n%s", readLog(p))
	return nil
}

func readLog(p *testbed.Proc) string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

func sha(t *testing.T, path string) string {
	t.Helper()
	s, err := testbed.SHA256File(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runtimeDir does for the test what systemd does for the unit's RuntimeDirectory=: dir
// exists, owned by user and group, with mode (octal, default 0755), while the daemon runs;
// afterwards it is removed, or given back its owner and mode if it was there before.
func runtimeDir(t *testing.T, dir, mode, userName, groupName string) {
	t.Helper()
	m, err := strconv.ParseUint(cmp.Or(mode, "0755"), 8, 32)
	if err != nil {
		t.Fatalf("RuntimeDirectoryMode %q: %v", mode, err)
	}
	u, err := user.Lookup(userName)
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup(groupName)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	before, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, os.FileMode(m)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if statErr != nil {
			os.RemoveAll(dir)
			return
		}
		st := before.Sys().(*syscall.Stat_t)
		os.Chown(dir, int(st.Uid), int(st.Gid))
		os.Chmod(dir, before.Mode().Perm())
	})
}
