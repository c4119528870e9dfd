package script

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"

	"github.com/ftpgate/ftpgate/policy"
)

func TestPanicRecovered(t *testing.T) {
	boom := starlark.NewBuiltin("boom", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic("kaboom")
	})
	extra := starlark.StringDict{"boom": boom}
	tests := []struct {
		name string
		src  string
		call bool // the panic happens in a callback, not at load
		want string
	}{
		{"in a callback", "def f(c, p, s):\n    boom()\n", true, "script: callback f panicked: kaboom"},
		{"at the top level", "boom()\n", false, "script: top level of p.star panicked: kaboom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := load("p.star", []byte(tt.src), Options{}, extra)
			if tt.call {
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Command(context.Background(), "f", testInfo(), "NOOP", "")
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPrintLogged(t *testing.T) {
	tests := []struct {
		name string
		log  bool
		want []string
	}{
		{"to the logger", true, []string{`msg="script print"`, "file=pr.star", "callback=f", "session=42", `msg="hello STOR a.txt"`}},
		{"nil logger discards", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			var opts Options
			if tt.log {
				opts.Log = slog.New(slog.NewTextHandler(&buf, nil))
			}
			p, err := Load("pr.star", []byte("def f(c, p, s):\n    print('hello', c, p)\n    return ACCEPT\n"), opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Command(context.Background(), "f", testInfo(), "STOR", "a.txt"); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log %q does not contain %q", buf.String(), w)
				}
			}
			if len(tt.want) == 0 && buf.Len() != 0 {
				t.Errorf("log %q, want nothing", buf.String())
			}
		})
	}
}

// TestSandboxNames checks that nothing beyond the universe and the verdicts is predeclared.
func TestSandboxNames(t *testing.T) {
	for _, name := range []string{"open", "exec", "eval", "load_file", "os", "time", "json", "struct", "module", "exit"} {
		t.Run(name, func(t *testing.T) {
			_, err := Load("n.star", []byte("x = "+name+"\n"), Options{})
			if err == nil || !strings.Contains(err.Error(), "undefined: "+name) {
				t.Fatalf("error %v, want undefined: %s", err, name)
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	src := `
SEEN = {}

def echo(c, p, s):
    parts = []
    for x in (c, p, str(s.id), s.user):
        parts.append(x)
    return reject(550, ",".join(parts))

def tally(c, p, s):
    SEEN[p] = True  # must fail: globals are frozen
    return ACCEPT
`
	p, err := Load("c.star", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, calls = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls*2)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				info := policy.Info{ID: uint64(w*calls + i), User: fmt.Sprintf("u%d", w)}
				arg := fmt.Sprintf("f%d-%d", w, i)
				got, err := p.Command(context.Background(), "echo", info, "RETR", arg)
				want := fmt.Sprintf("RETR,%s,%d,u%d", arg, info.ID, w)
				if err != nil || got.Text != want {
					errs <- fmt.Errorf("echo: %+v, %v; want text %q", got, err, want)
				}
				if _, err := p.Command(context.Background(), "tally", info, "RETR", arg); err == nil {
					errs <- fmt.Errorf("tally %s kept state", arg)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
