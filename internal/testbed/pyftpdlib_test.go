package testbed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPyftpdlib(t *testing.T) {
	needTools(t, "curl", "python3")
	tp := New(t, Options{Forward: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := tp.StartPyftpdlib(ctx)
	skipIfMissing(t, err)
	if srv.Name != "pyftpdlib" || len(srv.Procs) != 1 || srv.User != FTPUser || srv.AnonRoot == "" {
		t.Fatalf("unexpected server %+v", srv)
	}
	tp.testGetPut(t, ctx, srv)
	t.Run("v4/active", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "active")
		tp.curl(t, ctx, "-P", "-", "-o", dst, hostURL(tp.ServerV4)+"up-v4")
		got, _ := SHA256File(filepath.Join(srv.Root, "up-v4"))
		checkSum(t, dst, got)
	})
	// Uploads belong to the FTP user: the server runs as its UID.
	if fi, err := os.Stat(filepath.Join(srv.Root, "up-v6")); err != nil {
		t.Error(err)
	} else if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != srv.UID {
		t.Errorf("upload owned by %+v, want uid %d", fi.Sys(), srv.UID)
	}
	r := tp.ftpCmds(t, ctx, tp.ServerV6, "EPSV", "PASV")
	if !strings.HasPrefix(r["EPSV"], "229 ") || !strings.Contains(r["EPSV"], "(|||3") {
		t.Errorf("EPSV on IPv6: %q", r["EPSV"])
	}
	// Like proftpd, pyftpdlib answers PASV on IPv6 with a malformed 227.
	if !strings.HasPrefix(r["PASV"], "227 ") || !strings.Contains(r["PASV"], "("+tp.ServerV6.String()+",") {
		t.Errorf("PASV on IPv6: %q, want a 227 with the IPv6 address", r["PASV"])
	}
	// Anonymous logins are read-only.
	anon, err := MakeFile(filepath.Join(srv.AnonRoot, "pub.bin"), 777)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "anon")
	tp.curl(t, ctx, "-o", dst, "ftp://anonymous:x@"+tp.ServerV4.String()+"/pub.bin")
	checkSum(t, dst, anon)
	// The debug log has every command received, PASS masked.
	b, err := os.ReadFile(filepath.Join(tp.Dir, "pyftpdlib", "pyftpdlib.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"] <- USER " + FTPUser, "] <- PASS ******", "] <- STOR up-v4", "] <- RETR file", "] <- EPSV", "] <- EPRT |1|"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("pyftpdlib.log lacks %q:\n%s", want, clip(string(b)))
		}
	}
	if strings.Contains(string(b), FTPPass) {
		t.Error("pyftpdlib.log has the password")
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("stop pyftpdlib: %v", err)
	}
}

func TestPyftpdlibMissing(t *testing.T) {
	old := PyftpdlibPython
	PyftpdlibPython = filepath.Join(t.TempDir(), "nope")
	defer func() { PyftpdlibPython = old }()
	tp := &Topology{}
	_, err := tp.StartPyftpdlib(context.Background())
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("err = %v", err)
	}
}
