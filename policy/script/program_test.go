package script

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"syntax error", "def f(c, p, s):\n    return ACCEPT\ndef g(:\n", []string{"script: ", "cb.star:3:8", "want ')'"}},
		{"bad indentation", "def f(c, p, s):\nreturn ACCEPT\n", []string{"script: ", "cb.star:2:7", "want indent"}},
		{"open is undefined", "def f(c, p, s):\n    open('/etc/passwd')\n    return ACCEPT\n", []string{"cb.star:2:5", "undefined: open"}},
		{"load refused", "load('os', 'x')\n", []string{"script: top level of cb.star", "cb.star:1:1", "not allowed"}},
		{"runtime error at top level", "x = 1\ny = x // 0\n", []string{"script: top level of cb.star", "cb.star:2:7", "division by zero"}},
		{"fail at top level", "\nfail('nope')\n", []string{"cb.star:2:5", "nope"}},
		{"runaway top level", "while True:\n    pass\n", []string{"top level of cb.star exceeded 1000 steps"}},
		{"several resolve errors", "a = b\nc = d\n", []string{"cb.star:1:5", "and 1 more errors"}},
		{"global reassigned", "x = 1\nx = 2\n", []string{"cb.star:2:1", "cannot reassign"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("cb.star", []byte(tt.src), Options{MaxSteps: 1000})
			if err == nil {
				t.Fatalf("Load succeeded (%v), want an error", p.Names())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadDialect(t *testing.T) {
	// While loops, recursion, sets and top-level control flow are allowed.
	src := `
def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)

def count(n):
    i = 0
    while i < n:
        i += 1
    return i

S = set(["A", "B"])
T = {}
for k in ["x", "y"]:
    T[k] = fact(3) + count(4)
`
	p, err := Load("ok.star", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.globals["T"].String(); got != `{"x": 10, "y": 10}` {
		t.Errorf("T = %s", got)
	}
}

func TestHasNames(t *testing.T) {
	src := "X = 1\nL = [1]\nalias = reject\ndef b(c, p, s):\n    return ACCEPT\ndef a(c, p, s):\n    return ACCEPT\n"
	p, err := Load("cb.star", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want bool
	}{
		{"a", true},
		{"b", true},
		{"alias", true},
		{"X", false},
		{"L", false},
		{"missing", false},
		{"reject", false}, // predeclared, not the script's own
		{"len", false},
	}
	for _, tt := range tests {
		if got := p.Has(tt.name); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got, want := p.Names(), []string{"a", "alias", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}
