package script

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/policy"
)

// callbacks is a script with one callback per verdict and per mistake.
const callbacks = `
L = []

def accept_const(c, p, s):
    return ACCEPT

def accept_call(c, p, s):
    return accept()

def accept_none(c, p, s):
    return accept(None)

def rewrite(c, p, s):
    return accept(p.upper())

def rewrite_kw(c, p, s):
    return accept(param = "/pub")

def reject_full(c, p, s):
    return reject(553, "No " + p)

def reject_default(c, p, s):
    return reject()

def abort_const(c, p, s):
    return ABORT

def abort_call(c, p, s):
    return abort()

def change_cmd(c, p, s):
    return change(250, "ok")

def none(c, p, s):
    pass

def text(c, p, s):
    return "accept"

def reject_1xx(c, p, s):
    return reject(150, "x")

def reject_big(c, p, s):
    return reject(600, "x")

def reject_crlf(c, p, s):
    return reject(550, "a\r\nb")

def rewrite_lf(c, p, s):
    return accept(p + "\nDELE x")

def rewrite_nul(c, p, s):
    return accept("a\0b")

def rewrite_int(c, p, s):
    return accept(1)

def rewrite_long(c, p, s):
    return accept("x" * 2000)

def mutate(c, p, s):
    L.append(p)
    return ACCEPT

def fails(c, p, s):
    fail("bad " + c)

def two_args(c, p):
    return ACCEPT

def spin(c, p, s):
    while True:
        pass

def recurse(c, p, s):
    return recurse(c, p, s)

def answer_accept(c, code, t, s):
    return ACCEPT

def answer_change(c, code, t, s):
    return change(code + 1, t + "!")

def answer_reject(c, code, t, s):
    return reject()

def answer_abort(c, code, t, s):
    return abort()

def answer_rewrite(c, code, t, s):
    return accept("x")

def answer_change_99(c, code, t, s):
    return change(99, "x")

def answer_change_600(c, code, t, s):
    return change(600, "x")

def answer_change_cr(c, code, t, s):
    return change(200, "a\rb")

def answer_change_str(c, code, t, s):
    return change("200", "x")

def answer_list(c, code, t, s):
    return [ACCEPT]

def answer_code_type(c, code, t, s):
    return change(200, type(code) + " " + type(t))
`

func testInfo() policy.Info {
	return policy.Info{
		ID:     42,
		Client: netip.MustParseAddrPort("198.51.100.2:40000"),
		Server: netip.MustParseAddrPort("[2001:db8::21]:21"),
		User:   "alice",
		TLS:    true,
	}
}

func loadCallbacks(t *testing.T, opts Options) *Program {
	t.Helper()
	p, err := Load("cb.star", []byte(callbacks), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommand(t *testing.T) {
	p := loadCallbacks(t, Options{MaxSteps: 5000})
	tests := []struct {
		name    string
		arg     string
		want    policy.Verdict
		wantErr []string // substrings of the error; nil: no error
	}{
		{name: "accept_const", arg: "a.txt", want: policy.Verdict{Kind: policy.Accept, Arg: "a.txt"}},
		{name: "accept_call", arg: "a.txt", want: policy.Verdict{Kind: policy.Accept, Arg: "a.txt"}},
		{name: "accept_none", arg: "", want: policy.Verdict{Kind: policy.Accept}},
		{name: "rewrite", arg: "a.txt", want: policy.Verdict{Kind: policy.Accept, Arg: "A.TXT"}},
		{name: "rewrite_kw", arg: "/private", want: policy.Verdict{Kind: policy.Accept, Arg: "/pub"}},
		{name: "reject_full", arg: "x.exe", want: policy.Verdict{Kind: policy.Reject, Code: 553, Text: "No x.exe",
			Reason: "callback reject_full in cb.star: reject"}},
		{name: "reject_default", want: policy.Verdict{Kind: policy.Reject, Reason: "callback reject_default in cb.star: reject"}},
		{name: "abort_const", want: policy.Verdict{Kind: policy.Abort, Reason: "callback abort_const in cb.star: abort"}},
		{name: "abort_call", want: policy.Verdict{Kind: policy.Abort, Reason: "callback abort_call in cb.star: abort"}},

		{name: "change_cmd", wantErr: []string{"script: callback change_cmd returned change(250, \"ok\")", "answer callbacks"}},
		{name: "none", wantErr: []string{"returned NoneType, want a verdict"}},
		{name: "text", wantErr: []string{"returned string, want a verdict"}},
		{name: "reject_1xx", wantErr: []string{"cb.star:41:18", "code 150 is not in 200..599"}},
		{name: "reject_big", wantErr: []string{"code 600"}},
		{name: "reject_crlf", wantErr: []string{"CR, LF or NUL"}},
		{name: "rewrite_lf", arg: "a", wantErr: []string{"CR, LF or NUL"}},
		{name: "rewrite_nul", wantErr: []string{"CR, LF or NUL"}},
		{name: "rewrite_int", wantErr: []string{"param must be a string"}},
		{name: "rewrite_long", wantErr: []string{"2000 bytes"}},
		{name: "mutate", arg: "x", wantErr: []string{"callback mutate", "frozen"}},
		{name: "fails", wantErr: []string{"script: callback fails: cb.star:", "bad STOR"}},
		{name: "two_args", wantErr: []string{"callback two_args", "accepts 2 positional arguments (3 given)"}},
		{name: "spin", wantErr: []string{"script: callback spin exceeded 5000 steps", "cb.star:"}},
		{name: "recurse", wantErr: []string{"script: callback recurse exceeded 5000 steps"}},
		{name: "missing", wantErr: []string{`script: no callback "missing" in cb.star`}},
		{name: "L", wantErr: []string{`no callback "L"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Command(context.Background(), tt.name, testInfo(), "STOR", tt.arg)
			checkResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestAnswer(t *testing.T) {
	p := loadCallbacks(t, Options{})
	tests := []struct {
		name    string
		want    policy.Verdict
		wantErr []string
	}{
		{name: "answer_accept", want: policy.Verdict{Kind: policy.Accept}},
		{name: "answer_change", want: policy.Verdict{Kind: policy.Change, Code: 258, Text: `"/" is cwd!`,
			Reason: "callback answer_change in cb.star: change"}},
		{name: "answer_reject", want: policy.Verdict{Kind: policy.Reject, Reason: "callback answer_reject in cb.star: reject"}},
		{name: "answer_abort", want: policy.Verdict{Kind: policy.Abort, Reason: "callback answer_abort in cb.star: abort"}},
		{name: "answer_code_type", want: policy.Verdict{Kind: policy.Change, Code: 200, Text: "int string",
			Reason: "callback answer_code_type in cb.star: change"}},

		{name: "answer_rewrite", wantErr: []string{`returned accept("x")`, "command callbacks"}},
		{name: "answer_change_99", wantErr: []string{"code 99 is not in 100..599"}},
		{name: "answer_change_600", wantErr: []string{"code 600"}},
		{name: "answer_change_cr", wantErr: []string{"CR, LF or NUL"}},
		{name: "answer_change_str", wantErr: []string{"change: for parameter code: got string, want int"}},
		{name: "answer_list", wantErr: []string{"returned list"}},
		{name: "accept_const", wantErr: []string{"callback accept_const", "accepts 3 positional arguments (4 given)"}},
		{name: "missing", wantErr: []string{`no callback "missing"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Answer(context.Background(), tt.name, testInfo(), "PWD", 257, `"/" is cwd`)
			checkResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestSession(t *testing.T) {
	src := `
def show(c, p, s):
    return reject(500, "%s %s %d %s %d %s %s %s %s" % (
        c, s.id, s.client_port, s.client, s.server_port, s.server, s.user, s.tls, type(s.tls)))

def freeze(c, p, s):
    s.user = "root"
    return ACCEPT
`
	p, err := Load("s.star", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		info policy.Info
		want string
	}{
		{"full", testInfo(), "USER 42 40000 198.51.100.2 21 2001:db8::21 alice True bool"},
		{"mapped IPv4 shown as IPv4", policy.Info{
			ID:     1 << 63,
			Client: netip.MustParseAddrPort("[::ffff:192.0.2.7]:1025"),
			Server: netip.MustParseAddrPort("203.0.113.9:2121"),
		}, "USER 9223372036854775808 1025 192.0.2.7 2121 203.0.113.9  False bool"},
		{"unset", policy.Info{}, "USER 0 0  0   False bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Command(context.Background(), "show", tt.info, "USER", "x")
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tt.want {
				t.Errorf("text %q, want %q", got.Text, tt.want)
			}
		})
	}
	if _, err := p.Command(context.Background(), "freeze", testInfo(), "USER", "x"); err == nil {
		t.Error("assigning to a session field succeeded")
	}
}

func TestCancel(t *testing.T) {
	p := loadCallbacks(t, Options{MaxSteps: 1 << 62}) // only the context can stop spin
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		cb   string
		want error
	}{
		{"deadline during a runaway", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, "spin", context.DeadlineExceeded},
		{"cancel during a runaway", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, "spin", context.Canceled},
		{"canceled before the call", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, "accept_const", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := p.Command(ctx, tt.cb, testInfo(), "STOR", "x")
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute): // a hang guard, not a timing assertion
				t.Fatal("the callback did not stop when its context was done")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "script: callback "+tt.cb) {
				t.Errorf("error %q does not name the callback", err)
			}
		})
	}
}

// checkResult checks a call's result: want when wantErr is nil, else an error that contains
// each of wantErr.
func checkResult[T comparable](t *testing.T, got T, err error, want T, wantErr []string) {
	t.Helper()
	if wantErr == nil {
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if got != want {
			t.Errorf("verdict %+v, want %+v", got, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("verdict %+v, want an error", got)
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
