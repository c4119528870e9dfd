package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/ftp"
)

func TestReadRequest(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		want    Request
	}{
		{in: `{"v":1,"cmd":"sessions"}` + "\n", want: Request{V: 1, Cmd: "sessions"}},
		{in: `{"v":1,"cmd":"kill","id":42}`, want: Request{V: 1, Cmd: "kill", ID: 42}},
		{in: `{"v":1,"cmd":"status"}` + "\ntrailing", want: Request{V: 1, Cmd: "status"}},
		{in: `{"v":2,"cmd":"status"}`, err: "protocol version 2"},
		{in: `{"cmd":"status"}`, err: "protocol version 0"},
		{in: `{"v":1,"cmd":"kill"}`, err: "kill needs a session id"},
		{in: `{"v":1,"cmd":"shutdown"}`, err: `unknown command "shutdown"`},
		{in: `{"v":1,"cmd":"status","extra":1}`, err: "not a JSON request"},
		{in: `hello`, err: "not a JSON request"},
		{in: "\n", err: "empty request"},
		{in: "", err: "empty request"},
		{in: `{"v":1,"cmd":"` + strings.Repeat("x", MaxRequest) + `"}`, err: "request over 4096 bytes"},
	} {
		got, err := ReadRequest(strings.NewReader(tc.in))
		if tc.err != "" {
			if !errors.Is(err, ErrRequest) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%.40q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v", tc.in, got, err)
		}
	}
}

func TestResponseEncoding(t *testing.T) {
	var b strings.Builder
	r := Response{V: Version, OK: true, Sessions: []ftp.SessionInfo{{ID: 3, User: "bob", State: ftp.StateTransfer,
		Transfer: &ftp.TransferInfo{Command: "RETR", Arg: "f", Bytes: 10}}}}
	if err := WriteLine(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "}\n") || strings.Count(b.String(), "\n") != 1 {
		t.Fatalf("not one line: %q", b.String())
	}
	var back Response
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil || back.Sessions[0].Transfer.Bytes != 10 || back.V != 1 {
		t.Fatalf("%+v, %v", back, err)
	}
}

// fakeHandler answers with fixed data and records kills.
type fakeHandler struct{ killed chan string }

func (fakeHandler) Sessions(context.Context) []ftp.SessionInfo {
	return []ftp.SessionInfo{{ID: 1, User: "bob"}}
}

func (f fakeHandler) Kill(_ context.Context, id uint64, by string) error {
	if id != 1 {
		return fmt.Errorf("%w: %d", ftp.ErrNoSession, id)
	}
	f.killed <- by
	return nil
}

func (fakeHandler) Status(context.Context) Status { return Status{Version: "test", Sessions: 1} }

func (fakeHandler) Reload(context.Context, string) (string, error) {
	return "", errors.New("configuration: line 3: bad")
}

// TestServer runs a socket in a temporary directory: its mode, the commands, a malformed
// request, a stale socket and a second daemon.
func TestServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Listen(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := fakeHandler{killed: make(chan string, 1)}
	done := make(chan struct{})
	go func() { s.Serve(ctx, h); close(done) }()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("socket: %v %v", fi.Mode(), err)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o750 {
		t.Fatalf("directory mode %v", di.Mode())
	}
	if _, err := Listen(ctx, path, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener: %v", err)
	}
	r, err := Call(ctx, path, Request{Cmd: CmdSessions})
	if err != nil || len(r.Sessions) != 1 || r.Sessions[0].User != "bob" {
		t.Fatalf("sessions: %+v %v", r, err)
	}
	if r, err = Call(ctx, path, Request{Cmd: CmdKill, ID: 1}); err != nil || r.Message != "session 1 killed" {
		t.Fatalf("kill: %+v %v", r, err)
	}
	if by := <-h.killed; !strings.Contains(by, fmt.Sprintf("uid %d, pid %d", os.Getuid(), os.Getpid())) {
		t.Fatalf("killed by %q", by)
	}
	if _, err = Call(ctx, path, Request{Cmd: CmdKill, ID: 9}); !errors.Is(err, ErrDaemon) || !strings.Contains(err.Error(), "no such session: 9") {
		t.Fatalf("kill unknown: %v", err)
	}
	if _, err = Call(ctx, path, Request{Cmd: CmdReload}); !errors.Is(err, ErrDaemon) || !strings.Contains(err.Error(), "line 3: bad") {
		t.Fatalf("reload: %v", err)
	}
	// Malformed input gets an error line, and the server goes on.
	for _, in := range []string{"garbage\n", strings.Repeat("x", 3*MaxRequest)} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(in))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		var resp Response
		if json.Unmarshal([]byte(line), &resp) != nil || resp.OK || !strings.Contains(resp.Error, "bad request") {
			t.Fatalf("%.20q: %q", in, line)
		}
	}
	if r, err = Call(ctx, path, Request{Cmd: CmdStatus}); err != nil || r.Status.Sessions != 1 {
		t.Fatalf("status: %+v %v", r, err)
	}
	cancel()
	<-done
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket left behind: %v", err)
	}
	if _, err := Call(context.Background(), path, Request{Cmd: CmdStatus}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("call without a daemon: %v", err)
	}
}

// TestListenRemovesStale: a socket file nobody answers on is replaced; a regular file is not.
func TestListenRemovesStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays: a daemon that died
	s, err := Listen(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	s.Close()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := Listen(context.Background(), file, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("over a regular file: %v", err)
	}
}
