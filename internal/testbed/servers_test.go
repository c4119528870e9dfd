package testbed

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pyCmds logs in to argv[1]:21 as argv[2]/argv[3] and sends each further
// argument as a command, printing "CMD => reply" (error replies included).
const pyCmds = `import ftplib, sys
f = ftplib.FTP(timeout=10)
f.connect(sys.argv[1], 21)
f.login(sys.argv[2], sys.argv[3])
for c in sys.argv[4:]:
    try:
        r = f.sendcmd(c)
    except ftplib.Error as e:
        r = str(e)
    print(c + " => " + r.replace("\n", " | "), flush=True)
f.quit()
`

// ftpCmds runs pyCmds in the client namespace against addr and returns one
// reply per command.
func (tp *Topology) ftpCmds(t *testing.T, ctx context.Context, addr netip.Addr, cmds ...string) map[string]string {
	t.Helper()
	out, _, err := tp.Exec(ctx, tp.Client, "python3", append([]string{"-c", pyCmds, addr.String(), FTPUser, FTPPass}, cmds...)...)
	if err != nil {
		t.Fatal(err)
	}
	replies := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if c, r, ok := strings.Cut(line, " => "); ok {
			replies[c] = r
		}
	}
	return replies
}

// needTools skips the test when a tool is not installed.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("testbed: %s not installed", tool)
		}
	}
}

// skipIfMissing skips the test when err says a server binary is missing
// (run `make deps`), and fails it on any other error.
func skipIfMissing(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// hostURL is an ftp:// URL prefix for the FTP user at addr.
func hostURL(addr netip.Addr) string {
	host := addr.String()
	if addr.Is6() {
		host = "[" + host + "]"
	}
	return "ftp://" + FTPUser + ":" + FTPPass + "@" + host + "/"
}

// families lists the server's two addresses by name.
func (tp *Topology) families() []struct {
	name string
	addr netip.Addr
} {
	return []struct {
		name string
		addr netip.Addr
	}{{"v4", tp.ServerV4}, {"v6", tp.ServerV6}}
}

// testGetPut downloads a file from srv and uploads one to it with curl over
// both families, comparing SHA-256 sums. extra are curl options.
func (tp *Topology) testGetPut(t *testing.T, ctx context.Context, srv *FTPServer, extra ...string) {
	t.Helper()
	want, err := srv.MakeFile("file", 1<<20+321)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, fam := range tp.families() {
		t.Run(fam.name+"/get", func(t *testing.T) {
			dst := filepath.Join(out, fam.name+"-get")
			tp.curl(t, ctx, append(extra, "-o", dst, hostURL(fam.addr)+"file")...)
			checkSum(t, dst, want)
		})
		t.Run(fam.name+"/put", func(t *testing.T) {
			src := filepath.Join(out, fam.name+"-put")
			up, err := MakeFile(src, 200_000+int64(len(fam.name)))
			if err != nil {
				t.Fatal(err)
			}
			tp.curl(t, ctx, append(extra, "-T", src, hostURL(fam.addr)+"up-"+fam.name)...)
			checkSum(t, filepath.Join(srv.Root, "up-"+fam.name), up)
		})
	}
}

func TestPureFTPd(t *testing.T) {
	needTools(t, "curl", "python3")
	tp := New(t, Options{Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := tp.StartPureFTPd(ctx, PureOptions{})
	skipIfMissing(t, err)
	if srv.Name != "pure-ftpd" || len(srv.Procs) != 2 {
		t.Fatalf("unexpected server %+v", srv)
	}
	tp.testGetPut(t, ctx, srv)
	t.Run("v4/active", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "active")
		tp.curl(t, ctx, "-P", "-", "-o", dst, hostURL(tp.ServerV4)+"up-v4")
		got, _ := SHA256File(filepath.Join(srv.Root, "up-v4"))
		checkSum(t, dst, got)
	})
	r := tp.ftpCmds(t, ctx, tp.ServerV6, "EPSV", "PASV")
	if !strings.HasPrefix(r["EPSV"], "229 ") || !strings.Contains(r["EPSV"], "(|||3") {
		t.Errorf("EPSV on IPv6: %q", r["EPSV"])
	}
	if !strings.HasPrefix(r["PASV"], "425") {
		t.Errorf("PASV on IPv6: %q (pure-ftpd used to answer 425)", r["PASV"])
	}
	b, err := os.ReadFile(filepath.Join(tp.Dir, "pure-ftpd", "xfer4.log"))
	if err != nil || !strings.Contains(string(b), "GET ") || !strings.Contains(string(b), "PUT ") {
		t.Errorf("pure-ftpd xfer4.log: %v\n%s", err, b)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("stop pure-ftpd: %v", err)
	}
}

func TestPureFTPdPassiveIP(t *testing.T) {
	needTools(t, "python3")
	tp := New(t, Options{Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := tp.StartPureFTPd(ctx, PureOptions{PassiveIP: netip.MustParseAddr("198.51.100.77")})
	skipIfMissing(t, err)
	defer srv.Stop()
	r := tp.ftpCmds(t, ctx, tp.ServerV4, "PASV")
	if !strings.HasPrefix(r["PASV"], "227 ") || !strings.Contains(r["PASV"], "198,51,100,77,") {
		t.Errorf("PASV: %q, want 227 with 198,51,100,77", r["PASV"])
	}
}

func TestVsftpdPasvAddress(t *testing.T) {
	needTools(t, "vsftpd", "curl", "python3")
	tp := New(t, Options{Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wrong := netip.MustParseAddr("198.51.100.77")
	srv, err := tp.StartVsftpdWith(ctx, VsftpdOptions{PasvAddress: wrong})
	if err != nil {
		t.Fatal(err)
	}
	r := tp.ftpCmds(t, ctx, tp.ServerV4, "PASV", "EPSV")
	if !strings.HasPrefix(r["PASV"], "227 ") || !strings.Contains(r["PASV"], "(198,51,100,77,") {
		t.Errorf("PASV: %q, want 227 with 198,51,100,77", r["PASV"])
	}
	if !strings.HasPrefix(r["EPSV"], "229 ") {
		t.Errorf("EPSV: %q", r["EPSV"])
	}
	// curl ignores the 227 address by default, so the transfer still works.
	want, err := srv.MakeFile("f", 12345)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "f")
	tp.curl(t, ctx, "--disable-epsv", "-o", dst, hostURL(tp.ServerV4)+"f")
	checkSum(t, dst, want)
	if _, err := tp.StartVsftpdWith(ctx, VsftpdOptions{PasvAddress: tp.ServerV6}); err == nil {
		t.Error("IPv6 PasvAddress accepted")
	}
}

func TestProFTPdDenyEPSV(t *testing.T) {
	needTools(t, "curl", "python3")
	tp := New(t, Options{Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := tp.StartProFTPd(ctx, ProOptions{DenyEPSV: true})
	skipIfMissing(t, err)
	if srv.Name != "proftpd" || len(srv.Procs) != 1 {
		t.Fatalf("unexpected server %+v", srv)
	}
	for _, fam := range tp.families() {
		r := tp.ftpCmds(t, ctx, fam.addr, "EPSV", "EPSV ALL", "PASV")
		for _, c := range []string{"EPSV", "EPSV ALL"} {
			if !strings.HasPrefix(r[c], "5") {
				t.Errorf("%s %s: %q, want 5xx", fam.name, c, r[c])
			}
		}
		if fam.addr.Is4() && (!strings.HasPrefix(r["PASV"], "227 ") || !strings.Contains(r["PASV"], "(203,0,113,2,")) {
			t.Errorf("%s PASV: %q", fam.name, r["PASV"])
		}
	}
	// IPv4: curl falls back from EPSV to PASV. IPv6: PASV cannot carry the
	// address, so use active mode (EPRT).
	want, err := srv.MakeFile("file", 1<<20+7)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	dst := filepath.Join(out, "v4")
	tp.curl(t, ctx, "-o", dst, hostURL(tp.ServerV4)+"file")
	checkSum(t, dst, want)
	dst = filepath.Join(out, "v6")
	tp.curl(t, ctx, "-P", "-", "-o", dst, hostURL(tp.ServerV6)+"file")
	checkSum(t, dst, want)
	tp.curl(t, ctx, "-T", dst, hostURL(tp.ServerV4)+"up")
	checkSum(t, filepath.Join(srv.Root, "up"), want)
	b, err := os.ReadFile(filepath.Join(tp.Dir, "proftpd", "commands.log"))
	if err != nil || !strings.Contains(string(b), "\"EPSV\" 501") {
		t.Errorf("proftpd commands.log: %v\n%s", err, b)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("stop proftpd: %v", err)
	}
}

func TestProFTPd(t *testing.T) {
	needTools(t, "curl")
	tp := New(t, Options{Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := tp.StartProFTPd(ctx, ProOptions{})
	skipIfMissing(t, err)
	defer srv.Stop()
	tp.testGetPut(t, ctx, srv)
}

func TestServerMissingBinary(t *testing.T) {
	old := PureFTPdPath
	PureFTPdPath = filepath.Join(t.TempDir(), "nope")
	defer func() { PureFTPdPath = old }()
	tp := &Topology{}
	_, err := tp.StartPureFTPd(context.Background(), PureOptions{})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("err = %v", err)
	}
}
