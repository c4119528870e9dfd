package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// compatPy is a Python ftplib session using the commands scripts commonly send.
const compatPy = `import ftplib, io, sys
host, user, pw, name = sys.argv[1:5]
c = ftplib.FTP()
def cmd(line):
    # What the server does not implement answers 5xx; the session goes on.
    try:
        c.sendcmd(line)
    except ftplib.error_perm:
        pass
c.connect(host, 21, timeout=20)
for line in ['HOST ' + host, 'CLNT ftpgate-compat', 'FEAT']:  # before login, as RFC 7151 and clients do
    cmd(line)
c.login(user, pw)
for line in ['OPTS UTF8 ON', 'SYST', 'FEAT', 'PWD', 'TYPE I', 'LANG EN']:
    cmd(line)
c.storbinary('STOR ' + name, io.BytesIO(b'compat ' * 1000))
c.size(name)
for line in ['MDTM ' + name, 'MFMT 20200504030201 ' + name, 'SITE UTIME 20200504030201 ' + name, 'SITE HELP', 'XPWD']:
    cmd(line)
c.rename(name, name + '.renamed')
c.mkd(name + '.dir'); c.cwd(name + '.dir'); c.cwd('..'); c.rmd(name + '.dir')
c.nlst()
c.retrbinary('RETR ' + name + '.renamed', lambda b: None)
c.delete(name + '.renamed')
c.quit()
`

// compatSession is one real client's session against the server.
type compatSession struct {
	name string
	run  func(ctx context.Context, b *bed, tag string) (string, error)
}

// compatSessions: lftp (upload, mirror, mirror -R with timestamps), curl, Python ftplib,
// wget and tnftp, each as users run them. tag keeps the names of two runs apart.
func compatSessions(t *testing.T, b *bed) []compatSession {
	dir := t.TempDir()
	local := filepath.Join(dir, "local")
	for _, d := range []string{local, filepath.Join(local, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a.bin", "sub/b.bin"} {
		if _, err := testbed.MakeFile(filepath.Join(local, f), 4096); err != nil {
			t.Fatal(err)
		}
		old := time.Date(2020, 5, 4, 3, 2, 1, 0, time.UTC)
		os.Chtimes(filepath.Join(local, f), old, old)
	}
	py := filepath.Join(dir, "compat.py")
	if err := os.WriteFile(py, []byte(compatPy), 0o644); err != nil {
		t.Fatal(err)
	}
	server := b.tp.ServerV4
	url := func(path string) string { return scenario.URL(b.srv, server, path) }
	return []compatSession{
		{"lftp", func(ctx context.Context, b *bed, tag string) (string, error) {
			script := fmt.Sprintf("put %s -o lftp-%s.bin; mirror tree %s; mirror -R %s up-%s; ls",
				filepath.Join(local, "a.bin"), tag, filepath.Join(dir, "mirror-"+tag), local, tag)
			return scenario.Lftp(ctx, b.tp, b.srv, server, scenario.EPSV, script)
		}},
		{"curl", func(ctx context.Context, b *bed, tag string) (string, error) {
			if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", filepath.Join(dir, "curl-"+tag), url("small.bin")); err != nil {
				return tr, err
			}
			return scenario.Curl(ctx, b.tp, scenario.PASV, "-T", filepath.Join(local, "a.bin"), url("curl-"+tag+".bin"))
		}},
		{"ftplib", func(ctx context.Context, b *bed, tag string) (string, error) {
			out, stderr, err := b.tp.Exec(ctx, b.tp.Client, "python3", py, server.String(), b.srv.User, b.srv.Pass, "py-"+tag)
			return out + stderr, err
		}},
		{"wget", func(ctx context.Context, b *bed, tag string) (string, error) {
			out, stderr, err := b.tp.Exec(ctx, b.tp.Client, "wget", "-nv", "-O", filepath.Join(dir, "wget-"+tag), url("small.bin"))
			return out + stderr, err
		}},
		{"tnftp", func(ctx context.Context, b *bed, tag string) (string, error) {
			cmds := fmt.Sprintf("user %s %s\nbinary\nput %s tnftp-%s.bin\nget small.bin %s\nls\nmkdir tn-%s\nrmdir tn-%s\nquit\n",
				b.srv.User, b.srv.Pass, filepath.Join(local, "a.bin"), tag, filepath.Join(dir, "tnftp-"+tag), tag, tag)
			cmd, err := b.tp.Command(ctx, b.tp.Client, "tnftp", "-n", "-i", "-p", server.String())
			if err != nil {
				return "", err
			}
			cmd.Stdin = strings.NewReader(cmds)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}},
	}
}

// Each server's protocol log, and a pattern whose first group is the verb of a command line
// in it. The sessions use IPv4 only, so vsftpd's IPv4 listener log is enough. pure-ftpd can
// log commands only to syslog, which the testbed does not run: it has no entry.
var serverLogs = map[string]struct {
	path    []string
	command *regexp.Regexp
}{
	// FTP command: Client "198.51.100.2", "STOR x"
	"vsftpd": {[]string{"vsftpd", "vsftpd4.log"}, regexp.MustCompile(`FTP command: Client "[^"]*", "([A-Za-z]+)`)},
	// 198.51.100.2 ftpuser [26/Nov/2026:00:01:40 +0000] "STOR x" 226 (LogFormat %a %u %t "%r" %s).
	// proftpd hands OPTS on to an internal command named after its option and logs that too:
	// `"OPTS_UTF8 ON" 200` before `"OPTS UTF8 ON" -`. The verb must end with a space or the
	// quote, so that only the command received counts.
	"proftpd": {[]string{"proftpd", "commands.log"}, regexp.MustCompile(`(?m)^\S+ \S+ \[[^\]\n]*\] "([A-Za-z]+)[ "]`)},
	// [D 2026-11-26 00:01:40,465] 198.51.100.2:58248-[ftpuser] <- STOR x
	"pyftpdlib": {[]string{"pyftpdlib", "pyftpdlib.log"}, regexp.MustCompile(`-\[[^\]\n]*\] <- ([A-Za-z]+)`)},
}

// serverVerbs returns the verbs of the commands the bed's server logged after offset, sorted,
// and the log's new length. It first waits for the log to stop growing (up to 3 s): proftpd
// writes a command's line only after it has answered it, so the last lines of a session can
// land just after the client has exited.
func serverVerbs(t *testing.T, b *bed, offset int) ([]string, int) {
	t.Helper()
	sl, ok := serverLogs[b.srv.Name]
	if !ok {
		t.Fatalf("no protocol log known for %s", b.srv.Name)
	}
	path := filepath.Join(append([]string{b.tp.Dir}, sl.path...)...)
	var c []byte
	for i, last := 0, -1; i < 30; i++ {
		var err error
		if c, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		if len(c) == last {
			break
		}
		last = len(c)
		time.Sleep(100 * time.Millisecond)
	}
	var verbs []string
	for _, m := range sl.command.FindAllSubmatch(c[offset:], -1) {
		verbs = append(verbs, strings.ToUpper(string(m[1])))
	}
	slices.Sort(verbs)
	return verbs, len(c)
}

// compatBed starts a bed with the server, small.bin and the tree the lftp session mirrors,
// owned by the FTP user.
func compatBed(t *testing.T, start func(*testbed.Topology, context.Context) (*testbed.FTPServer, error)) *bed {
	t.Helper()
	b := newBedWith(t, start, map[string]int64{"small.bin": small})
	if err := os.MkdirAll(filepath.Join(b.srv.Root, "tree", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int64{"tree/x.bin": 5000, "tree/deep/y.bin": 6000} {
		if _, err := b.srv.MakeFile(name, size); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"tree", "tree/deep"} {
		if err := os.Chown(filepath.Join(b.srv.Root, dir), b.srv.UID, b.srv.UID); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// compareDirectAndGateway runs the compatibility sessions first through plain kernel
// forwarding, with the bed's gateway stopped, then through a new ftpgate with the default
// configuration, and checks that each session reaches the server with the same commands
// (sorted verbs from the server's protocol log) both ways, and that ftpgate refuses, changes
// or would refuse nothing.
func compareDirectAndGateway(t *testing.T, b *bed) {
	t.Helper()
	sessions := compatSessions(t, b)
	ctx := b.ctx(t)

	if err := b.gw.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.tp.SetForward(ctx, true); err != nil {
		t.Fatal(err)
	}
	_, offset := serverVerbs(t, b, 0)
	direct := map[string][]string{}
	for _, s := range sessions {
		if tr, err := s.run(ctx, b, "direct"); err != nil {
			t.Fatalf("%s without the gateway: %v\n%s", s.name, err, tail(tr, 20))
		}
		direct[s.name], offset = serverVerbs(t, b, offset)
		if len(direct[s.name]) == 0 {
			t.Fatalf("%s: %s logged no command", s.name, b.srv.Name)
		}
	}
	if err := b.tp.SetForward(ctx, false); err != nil {
		t.Fatal(err)
	}

	gw, err := startGateway(ctx, b.tp, "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	b.gw = gw // newBed's cleanup stops it and shows its log on failure
	for _, s := range sessions {
		tr, err := s.run(ctx, b, "gw")
		var got []string
		got, offset = serverVerbs(t, b, offset)
		if err != nil {
			t.Errorf("%s through ftpgate: %v\n%s", s.name, err, tail(tr, 20))
			continue
		}
		if !slices.Equal(got, direct[s.name]) {
			t.Errorf("%s: %s saw\n  %v\nthrough ftpgate, and\n  %v\nwithout it", s.name, b.srv.Name, got, direct[s.name])
		}
	}
	checkNoRefusal(t, gw)
}

// checkNoRefusal fails the test when ftpgate logged a refusal or a change.
func checkNoRefusal(t *testing.T, gw *scenario.Gateway) {
	t.Helper()
	for _, bad := range []string{"command refused", "answer refused", "would be refused", "answer changed"} {
		if strings.Contains(gw.LogText(), bad) {
			t.Errorf("ftpgate logged %q with the default configuration:\n%s", bad, grepLines(gw.LogText(), bad))
		}
	}
}

// TestCompatibility: with the default configuration, real clients' sessions through
// ftpgate reach vsftpd with exactly the commands the same sessions send through plain
// forwarding, and ftpgate refuses, changes or would refuse nothing.
func TestCompatibility(t *testing.T) {
	compareDirectAndGateway(t, compatBed(t, (*testbed.Topology).StartVsftpd))
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestCompatibilityOtherServers: TestCompatibility's exact comparison against proftpd and
// pyftpdlib. Against pure-ftpd, which can log commands only to syslog (not running in the
// testbed), the sessions through ftpgate are only checked to succeed, with no refusal.
func TestCompatibilityOtherServers(t *testing.T) {
	for _, s := range []struct {
		name  string
		start func(*testbed.Topology, context.Context) (*testbed.FTPServer, error)
	}{
		{"proftpd", func(tp *testbed.Topology, ctx context.Context) (*testbed.FTPServer, error) {
			return tp.StartProFTPd(ctx, testbed.ProOptions{})
		}},
		{"pyftpdlib", (*testbed.Topology).StartPyftpdlib},
	} {
		t.Run(s.name, func(t *testing.T) {
			compareDirectAndGateway(t, compatBed(t, s.start))
		})
	}
	t.Run("pure-ftpd", func(t *testing.T) {
		b := compatBed(t, func(tp *testbed.Topology, ctx context.Context) (*testbed.FTPServer, error) {
			return tp.StartPureFTPd(ctx, testbed.PureOptions{})
		})
		ctx := b.ctx(t)
		for _, cs := range compatSessions(t, b) {
			if tr, err := cs.run(ctx, b, "gw"); err != nil {
				t.Errorf("%s through ftpgate: %v\n%s", cs.name, err, tail(tr, 20))
			}
		}
		checkNoRefusal(t, b.gw)
	})
}
