package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunks is a script with chunk callbacks: one per kind of result, and one per mistake.
const chunks = `
def pass_const(data, t):
    return ACCEPT

def pass_call(data, t):
    return accept()

def same(data, t):
    return data

def replace(data, t):
    return data.replace("foo", "bar")

def drop(data, t):
    return None

def drop_empty(data, t):
    pass
    return ""

def refuse(data, t):
    if "secret" in data:
        return reject(550, "secret in " + t.name)
    return ACCEPT

def refuse_default(data, t):
    return reject()

def as_bytes(data, t):
    return b"<" + bytes(data) + b">"

def binary(data, t):
    return data[1:].replace("\x00", "-")

def show(data, t):
    return "%d %d %d %s %s %s" % (t.seq, t.size, len(data), t.name, t.direction, t.sha256 == "")

def big(data, t):
    return "x" * (16 * 1024 * 1024 + 1)

def wrong(data, t):
    return 42

def aborts(data, t):
    return ABORT

def rewrites(data, t):
    return accept("x")

def listed(data, t):
    return [data]

def fails(data, t):
    fail("bad chunk %d" % t.seq)

def spin(data, t):
    while True:
        pass

def one(data):
    return ACCEPT
`

func loadChunks(t testing.TB, opts Options) *Program {
	t.Helper()
	p, err := Load("ch.star", []byte(chunks), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChunkHook(t *testing.T) {
	p := loadChunks(t, Options{MaxSteps: 5000})
	tests := []struct {
		name    string
		fn      string
		data    string
		want    string
		same    bool     // the result is data itself (no copy)
		refusal string   // the *Refusal's text
		wantErr []string // substrings of a failure's error
	}{
		{name: "pass", fn: "pass_const", data: "hello", want: "hello", same: true},
		{name: "pass accept()", fn: "pass_call", data: "hello", want: "hello", same: true},
		{name: "data itself", fn: "same", data: "hello", want: "hello", same: true},
		{name: "replace", fn: "replace", data: "a foo, a foo", want: "a bar, a bar"},
		{name: "replace, nothing found", fn: "replace", data: "a fox", want: "a fox", same: true},
		{name: "drop None", fn: "drop", data: "hello", want: ""},
		{name: "drop empty", fn: "drop_empty", data: "hello", want: ""},
		{name: "bytes", fn: "as_bytes", data: "hi", want: "<hi>"},
		{name: "raw bytes", fn: "binary", data: "\xff\x00\xfe\x00\x80", want: "-\xfe-\x80"},
		{name: "fields", fn: "show", data: "hello", want: "3 1000 5 a.csv download True"},
		{name: "refuse passes", fn: "refuse", data: "public", want: "public", same: true},
		{name: "refuse", fn: "refuse", data: "top secret", refusal: "secret in a.csv"},
		{name: "refuse default", fn: "refuse_default", data: "x", refusal: "refused by refuse_default"},

		{name: "oversize", fn: "big", data: "x", wantErr: []string{"c: script: callback big returned 16777217 bytes for a chunk, more than 16777216"}},
		{name: "int", fn: "wrong", data: "x", wantErr: []string{"c: script: callback wrong returned int, want a verdict"}},
		{name: "abort", fn: "aborts", data: "x", wantErr: []string{"returned ABORT, want ACCEPT, accept() or reject()"}},
		{name: "accept(param)", fn: "rewrites", data: "x", wantErr: []string{`returned accept("x")`}},
		{name: "list", fn: "listed", data: "x", wantErr: []string{"returned list"}},
		{name: "raises", fn: "fails", data: "x", wantErr: []string{"c: script: callback fails: ch.star:", "bad chunk 3"}},
		{name: "step limit", fn: "spin", data: "x", wantErr: []string{"script: callback spin exceeded 5000 steps"}},
		{name: "arity", fn: "one", data: "x", wantErr: []string{"function one accepts 1 positional argument (2 given)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := p.ChunkHook("c", tt.fn)
			if err != nil {
				t.Fatal(err)
			}
			obj := testObject()
			obj.Arg, obj.Size, obj.SHA256 = "/data/a.csv", 1000, ""
			data := []byte(tt.data)
			got, err := h.Chunk(context.Background(), obj, 3, data)
			var refusal *Refusal
			switch {
			case tt.refusal != "":
				if !errors.As(err, &refusal) || err.Error() != tt.refusal {
					t.Fatalf("result %q error %v, want a refusal %q", got, err, tt.refusal)
				}
				var r interface{ Refused() bool }
				if !errors.As(err, &r) || !r.Refused() {
					t.Errorf("error %v is not a Refused() error", err)
				}
			case tt.wantErr != nil:
				if err == nil || errors.As(err, &refusal) {
					t.Fatalf("result %q error %v, want a failure", got, err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			case err != nil:
				t.Fatalf("error %v", err)
			case string(got) != tt.want:
				t.Errorf("result %q, want %q", got, tt.want)
			case tt.same != (len(got) > 0 && &got[0] == &data[0]):
				t.Errorf("result is data itself: %v, want %v", !tt.same, tt.same)
			}
		})
	}
}

func TestChunkHookConstructor(t *testing.T) {
	p := loadChunks(t, Options{})
	if _, err := p.ChunkHook("c", "missing"); err == nil || !strings.Contains(err.Error(), `no function "missing" in ch.star`) {
		t.Errorf("error %v, want no function", err)
	}
	h, err := p.ChunkHook("", "drop")
	if err != nil {
		t.Fatal(err)
	}
	if h.Name() != "drop" {
		t.Errorf("name %q, want drop", h.Name())
	}
}

func TestChunkHookCancel(t *testing.T) {
	p := loadChunks(t, Options{MaxSteps: 1 << 62})
	h, _ := p.ChunkHook("c", "spin")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := h.Chunk(ctx, testObject(), 0, []byte("x"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want %v", err, context.DeadlineExceeded)
		}
	case <-time.After(time.Minute): // a hang guard, not a timing assertion
		t.Fatal("the hook did not stop")
	}
}

func TestChunkHookConcurrent(t *testing.T) {
	p := loadChunks(t, Options{})
	h, err := p.ChunkHook("c", "replace")
	if err != nil {
		t.Fatal(err)
	}
	concurrently(t, func(g, i int) error {
		data := []byte(fmt.Sprintf("foo %d foo %d", g, i))
		want := fmt.Sprintf("bar %d bar %d", g, i)
		got, err := h.Chunk(context.Background(), testObject(), i, data)
		if err != nil || string(got) != want {
			return fmt.Errorf("goroutine %d chunk %d: %q %v, want %q", g, i, got, err, want)
		}
		return nil
	})
}

// benchChunk runs the chunk callback fn on a 64 KiB chunk with a "foo" every KiB.
func benchChunk(b *testing.B, fn string) {
	p := loadChunks(b, Options{})
	h, err := p.ChunkHook("c", fn)
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("foo"+strings.Repeat("x", 1021)), 64)
	obj := testObject()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out, err := h.Chunk(context.Background(), obj, i, data)
		if err != nil || len(out) != len(data) {
			b.Fatalf("%d bytes, %v", len(out), err)
		}
	}
}

func BenchmarkChunkHookPass(b *testing.B) { benchChunk(b, "pass_const") }

func BenchmarkChunkHookReplace(b *testing.B) { benchChunk(b, "replace") }

// concurrently runs call from 8 goroutines, 200 times each (g the goroutine, i the call),
// and reports the first error of each goroutine.
func concurrently(t *testing.T, call func(g, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if err := call(g, i); err != nil {
					errs <- err
					return
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
