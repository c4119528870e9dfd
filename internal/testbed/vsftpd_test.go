package testbed

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVsftpd(t *testing.T) {
	for _, tool := range []string{"vsftpd", "curl", "lftp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("testbed: %s not installed", tool)
		}
	}
	tp := New(t, Options{Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := tp.StartVsftpd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Procs) != 2 || srv.User != "ftpuser" || srv.Pass != "ftppass" {
		t.Fatalf("unexpected server %+v", srv)
	}
	want, err := srv.MakeFile("file", 1<<20+123)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := os.Chmod(out, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, fam := range []struct {
		name string
		addr netip.Addr
	}{{"v4", tp.ServerV4}, {"v6", tp.ServerV6}} {
		host := fam.addr.String()
		if fam.addr.Is6() {
			host = "[" + host + "]"
		}
		url := "ftp://ftpuser:ftppass@" + host + "/"
		t.Run(fam.name+"/curl-get-passive", func(t *testing.T) {
			dst := filepath.Join(out, fam.name+"-pasv")
			tp.curl(t, ctx, "-o", dst, url+"file")
			checkSum(t, dst, want)
		})
		t.Run(fam.name+"/curl-get-active", func(t *testing.T) {
			dst := filepath.Join(out, fam.name+"-port")
			tp.curl(t, ctx, "-P", "-", "-o", dst, url+"file")
			checkSum(t, dst, want)
		})
		t.Run(fam.name+"/curl-put-overwrite", func(t *testing.T) {
			name := "over-" + fam.name
			if _, err := srv.MakeFile(name, 10); err != nil {
				t.Fatal(err)
			}
			tp.curl(t, ctx, "-T", filepath.Join(srv.Root, "file"), url+name)
			checkSum(t, filepath.Join(srv.Root, name), want)
		})
		t.Run(fam.name+"/curl-put", func(t *testing.T) {
			src := filepath.Join(out, fam.name+"-upload")
			up, err := MakeFile(src, 300_000)
			if err != nil {
				t.Fatal(err)
			}
			tp.curl(t, ctx, "-T", src, url+"up-"+fam.name)
			checkSum(t, filepath.Join(srv.Root, "up-"+fam.name), up)
		})
		t.Run(fam.name+"/lftp-get-active", func(t *testing.T) {
			dst := filepath.Join(out, fam.name+"-lftp")
			_, stderr, err := tp.Exec(ctx, tp.Client, "lftp", "-d", "-u", "ftpuser,ftppass",
				"-e", "set ftp:passive-mode off; set net:max-retries 1; set net:timeout 10; get file -o "+dst+"; bye",
				fam.addr.String())
			if err != nil {
				t.Fatal(err)
			}
			cmd := "---> PORT "
			if fam.addr.Is6() {
				cmd = "---> EPRT "
			}
			if !strings.Contains(stderr, cmd) || strings.Contains(stderr, "---> PASV") || strings.Contains(stderr, "---> EPSV") {
				t.Errorf("lftp did not use active mode (%q):\n%s", cmd, stderr)
			}
			checkSum(t, dst, want)
		})
	}

	// The xferlog records the transfers.
	b, err := os.ReadFile(filepath.Join(tp.Dir, "vsftpd", "xferlog4.log"))
	if err != nil || !strings.Contains(string(b), "/file") {
		t.Errorf("xferlog4.log: %v\n%s", err, b)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("stop vsftpd: %v", err)
	}
}

// curl runs curl in the client namespace and fails the test on error.
func (tp *Topology) curl(t *testing.T, ctx context.Context, args ...string) {
	t.Helper()
	args = append([]string{"-sS", "--max-time", "30"}, args...)
	if _, _, err := tp.Exec(ctx, tp.Client, "curl", args...); err != nil {
		t.Fatal(err)
	}
}

// checkSum compares the SHA-256 of path with want.
func checkSum(t *testing.T, path, want string) {
	t.Helper()
	got, err := SHA256File(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s: sha256 %s, want %s", path, got, want)
	}
}
