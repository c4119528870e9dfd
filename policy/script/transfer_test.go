package script

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
)

// transfers is a script with transfer callbacks: policies, and one per mistake.
const transfers = `
BLOCKED = {"exe": True, "dll": True}

def by_extension(t):
    if BLOCKED.get(t.extension):
        return reject(553, "no ." + t.extension + " files")
    return ACCEPT

def by_size(t):
    if t.size > 1000:
        return reject(text = "too large: %d bytes" % t.size)
    return accept()

def by_direction(t):
    if t.direction == "upload":
        return reject()
    return ACCEPT

def by_user(t):
    if t.user != "alice":
        return reject(550, "not for " + t.user)
    return ACCEPT

def by_tls(t):
    if not t.tls:
        return reject(text = "plain data connection")
    return ACCEPT

def show(t):
    return reject(text = "%d %s %s %s %s %d %s %s %s %d %s %d %s %s %s %d %s %s" % (
        t.session, t.command, t.path, t.name, t.extension, t.size, t.direction, t.user,
        t.client, t.client_port, t.server, t.server_port, t.tls, t.tls_client, t.tls_server,
        t.rest, t.type, t.sha256))

def fields(t):
    return reject(text = " ".join(dir(t)))

def aborts(t):
    return ABORT

def changes(t):
    return change(250, "x")

def rewrites(t):
    return accept("x")

def text(t):
    return "ACCEPT"

def none(t):
    pass

def fails(t):
    fail("bad " + t.name)

def spin(t):
    while True:
        pass

def freeze(t):
    t.size = 0
    return ACCEPT

def two(a, b):
    return ACCEPT

N = 1
`

func loadTransfers(t testing.TB, opts Options) *Program {
	t.Helper()
	p, err := Load("tr.star", []byte(transfers), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testObject is an object as the hooks would see a download over protected legs.
func testObject() *inspect.Object {
	return &inspect.Object{
		Session:   42,
		Command:   "RETR",
		Arg:       "/pub/Setup.EXE",
		Type:      "I",
		User:      "alice",
		Client:    netip.MustParseAddrPort("[::ffff:198.51.100.2]:40000"),
		Server:    netip.MustParseAddrPort("[2001:db8::21]:21"),
		TLSClient: "TLS 1.3 TLS_AES_128_GCM_SHA256",
		Size:      512,
		SHA256:    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	}
}

func TestTransferHook(t *testing.T) {
	p := loadTransfers(t, Options{MaxSteps: 5000})
	tests := []struct {
		name    string
		fn      string
		obj     func(o *inspect.Object)
		want    inspect.Verdict
		wantErr []string // substrings of the error; nil: no error
	}{
		{name: "extension refused", fn: "by_extension", want: inspect.Verdict{Reason: "no .exe files"}},
		{name: "extension allowed", fn: "by_extension", obj: func(o *inspect.Object) { o.Arg = "a.txt" },
			want: inspect.Verdict{Allow: true}},
		{name: "no extension", fn: "by_extension", obj: func(o *inspect.Object) { o.Arg = "exe" },
			want: inspect.Verdict{Allow: true}},
		{name: "size allowed", fn: "by_size", want: inspect.Verdict{Allow: true}},
		{name: "size refused", fn: "by_size", obj: func(o *inspect.Object) { o.Size = 1 << 40 },
			want: inspect.Verdict{Reason: "too large: 1099511627776 bytes"}},
		{name: "download allowed", fn: "by_direction", want: inspect.Verdict{Allow: true}},
		{name: "upload refused, default reason", fn: "by_direction",
			obj:  func(o *inspect.Object) { o.Upload, o.Command = true, "STOR" },
			want: inspect.Verdict{Reason: "refused by by_direction"}},
		{name: "user allowed", fn: "by_user", want: inspect.Verdict{Allow: true}},
		{name: "user refused", fn: "by_user", obj: func(o *inspect.Object) { o.User = "bob" },
			want: inspect.Verdict{Reason: "not for bob"}},
		{name: "tls client leg", fn: "by_tls", want: inspect.Verdict{Allow: true}},
		{name: "tls server leg", fn: "by_tls", obj: func(o *inspect.Object) { o.TLSClient, o.TLSServer = "", "TLS 1.2" },
			want: inspect.Verdict{Allow: true}},
		{name: "plain refused", fn: "by_tls", obj: func(o *inspect.Object) { o.TLSClient = "" },
			want: inspect.Verdict{Reason: "plain data connection"}},

		{name: "abort", fn: "aborts", wantErr: []string{"h: script: callback aborts returned ABORT, want ACCEPT, accept() or reject()"}},
		{name: "change", fn: "changes", wantErr: []string{`returned change(250, "x")`}},
		{name: "accept(param)", fn: "rewrites", wantErr: []string{`returned accept("x")`}},
		{name: "string", fn: "text", wantErr: []string{"returned string, want a verdict"}},
		{name: "None", fn: "none", wantErr: []string{"returned NoneType, want a verdict"}},
		{name: "raises", fn: "fails", wantErr: []string{"h: script: callback fails: tr.star:", "bad Setup.EXE"}},
		{name: "step limit", fn: "spin", wantErr: []string{"script: callback spin exceeded 5000 steps"}},
		{name: "frozen", fn: "freeze", wantErr: []string{"callback freeze", "can't assign to .size field"}},
		{name: "arity", fn: "two", wantErr: []string{"function two missing 1 argument (b)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := p.TransferHook("h", tt.fn, 0)
			if err != nil {
				t.Fatal(err)
			}
			obj := testObject()
			if tt.obj != nil {
				tt.obj(obj)
			}
			got, err := h.Inspect(context.Background(), obj, nil)
			if tt.wantErr == nil {
				tt.want.Hook = "h"
			}
			checkResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestTransferFields(t *testing.T) {
	p := loadTransfers(t, Options{})
	h, err := p.TransferHook("h", "show", 0)
	if err != nil {
		t.Fatal(err)
	}
	obj := testObject()
	obj.Rest = 100
	got, err := h.Inspect(context.Background(), obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "42 RETR /pub/Setup.EXE Setup.EXE exe 512 download alice 198.51.100.2 40000 2001:db8::21 21 " +
		"True TLS 1.3 TLS_AES_128_GCM_SHA256  100 I e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got.Reason != want {
		t.Errorf("fields\n %q, want\n %q", got.Reason, want)
	}

	h, _ = p.TransferHook("h", "fields", 0)
	got, err = h.Inspect(context.Background(), &inspect.Object{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = "client client_port command direction extension name path rest server server_port session sha256 size tls tls_client tls_server type user"
	if got.Reason != want {
		t.Errorf("field names %q, want %q", got.Reason, want)
	}
}

func TestNameExtension(t *testing.T) {
	tests := []struct{ path, name, ext string }{
		{"archive.tar.GZ", "archive.tar.GZ", "gz"},
		{"/pub/a.txt", "a.txt", "txt"},
		{"/pub/dir/", "dir", ""},
		{"README", "README", ""},
		{".profile", ".profile", ""},
		{"/home/u/.config.bak", ".config.bak", "bak"},
		{"file.", "file.", ""},
		{"", "", ""},
		{"/", "", ""},
		{"a.b/c", "c", ""},
	}
	for _, tt := range tests {
		name := baseName(tt.path)
		if ext := extension(name); name != tt.name || ext != tt.ext {
			t.Errorf("%q: name %q extension %q, want %q %q", tt.path, name, ext, tt.name, tt.ext)
		}
	}
}

func TestTransferHookConstructor(t *testing.T) {
	p := loadTransfers(t, Options{})
	for _, fn := range []string{"missing", "N", "BLOCKED", ""} {
		if _, err := p.TransferHook("h", fn, 0); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("no function %q in tr.star", fn)) {
			t.Errorf("TransferHook(%q): error %v, want no function", fn, err)
		}
	}
	h, err := p.TransferHook("", "by_size", 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.Name() != "by_size" || inspect.TimeoutOf(h) != inspect.DefaultHookTimeout {
		t.Errorf("name %q timeout %s, want by_size %s", h.Name(), inspect.TimeoutOf(h), inspect.DefaultHookTimeout)
	}
	h, _ = p.TransferHook("size", "by_size", 3*time.Second)
	if h.Name() != "size" || inspect.TimeoutOf(h) != 3*time.Second {
		t.Errorf("name %q timeout %s, want size 3s", h.Name(), inspect.TimeoutOf(h))
	}
}

func TestTransferHookTimeout(t *testing.T) {
	p := loadTransfers(t, Options{MaxSteps: 1 << 62}) // only the timeout can stop spin
	h, err := p.TransferHook("h", "spin", 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	err = inspectGuarded(t, context.Background(), h)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "h: no verdict within 20ms") {
		t.Errorf("error %v, want no verdict within 20ms", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	h, _ = p.TransferHook("h", "spin", time.Hour)
	if err := inspectGuarded(t, ctx, h); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want %v", err, context.Canceled)
	}
}

// inspectGuarded runs h on the test object and returns its error, failing the test if it
// does not return within a minute (a hang guard, not a timing assertion).
func inspectGuarded(t *testing.T, ctx context.Context, h inspect.Hook) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := h.Inspect(ctx, testObject(), nil)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the hook did not stop")
	}
	return nil
}

func TestTransferHookDecide(t *testing.T) {
	p := loadTransfers(t, Options{MaxSteps: 1000})
	size, _ := p.TransferHook("size", "by_size", 0)
	ext, _ := p.TransferHook("ext", "by_extension", 0)
	spin, _ := p.TransferHook("spin", "spin", 0)
	verdicts, ok := inspect.Decide(context.Background(), []inspect.Hook{size, ext}, inspect.FailClosed, testObject(), nil)
	want := []inspect.Verdict{{Hook: "size", Allow: true}, {Hook: "ext", Reason: "no .exe files"}}
	if ok || len(verdicts) != 2 || verdicts[0] != want[0] || verdicts[1] != want[1] {
		t.Errorf("Decide: %+v %v, want %+v false", verdicts, ok, want)
	}
	verdicts, ok = inspect.Decide(context.Background(), []inspect.Hook{spin}, inspect.FailOpen, testObject(), nil)
	if !ok || len(verdicts) != 1 || !verdicts[0].Failed || !strings.Contains(verdicts[0].Reason, "exceeded 1000 steps") {
		t.Errorf("Decide, fail open: %+v %v, want a failed verdict that allows", verdicts, ok)
	}
}

func TestTransferHookConcurrent(t *testing.T) {
	p := loadTransfers(t, Options{})
	h, err := p.TransferHook("h", "by_user", 0)
	if err != nil {
		t.Fatal(err)
	}
	concurrently(t, func(g, i int) error {
		obj := testObject()
		obj.User = fmt.Sprintf("u%d-%d", g, i)
		if g%2 == 0 {
			obj.User = "alice"
		}
		v, err := h.Inspect(context.Background(), obj, nil)
		if err != nil || v.Allow != (g%2 == 0) || (!v.Allow && v.Reason != "not for "+obj.User) {
			return fmt.Errorf("goroutine %d call %d: %+v %v", g, i, v, err)
		}
		return nil
	})
}
