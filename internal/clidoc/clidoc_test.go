package clidoc

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testProgram() *Program {
	fs := flag.NewFlagSet("x run", flag.ContinueOnError)
	fs.String("c", "/etc/x.yaml", "configuration `file`")
	fs.Bool("spoof", true, "spoof the client's address")
	fs.Int("max", 0, "at most this many")
	pt := flag.NewFlagSet("x policy test", flag.ContinueOnError)
	pt.String("service", "", "the service")
	return &Program{
		Name: "x", Section: "8", Version: "1.0", Summary: "a test-driven program",
		Description: []string{".starts with a dot", "back\\slash"},
		Commands: []Command{
			{Name: "run", Summary: "Run it.", Flags: fs, PathFlags: []string{"c"}},
			{Name: "policy test", Args: "FILE", Summary: "Test.", Flags: pt, PathArgs: true},
			{Name: "version", Summary: "Print the version."},
		},
		Sections: []Section{{Title: "FILES", Paragraphs: []string{"  /etc/x.yaml   config"}}},
	}
}

func TestMan(t *testing.T) {
	var b strings.Builder
	if err := WriteMan(&b, testProgram()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		".TH X 8", "x \\- a test\\-driven program", `\fB\-c\fR \fIfile\fR`, "configuration file (default: /etc/x.yaml)",
		`\fB\-spoof\fR` + "\nspoof the client's address (default: true)", `\fB\-max\fR \fIint\fR` + "\nat most this many\n",
		`.SS "x policy test"`, "\\&.starts with a dot", `back\eslash`, ".nf\n.RS 4\n/etc/x.yaml   config",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("man page lacks %q:\n%s", want, out)
		}
	}
	if _, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(out)
		if msg, err := cmd.CombinedOutput(); err != nil || len(msg) > 0 {
			t.Errorf("groff: %v %s", err, msg)
		}
	}
}

func TestBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var b strings.Builder
	if err := WriteBash(&b, testProgram()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "x.bash")
	if err := os.WriteFile(script, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ words, want string }{
		{"x ''", "run policy version"},
		{"x run -", "-c -max -spoof"},
		{"x run -c " + dir + "/co", dir + "/conf.yaml"},
		{"x run -max ''", ""},
		{"x policy ''", "test"},
		{"x policy test -s", "-service"},
		{"x policy test " + dir + "/c", dir + "/conf.yaml"},
	} {
		prog := "source " + script + "; COMP_WORDS=(" + tc.words + "); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _x; echo \"${COMPREPLY[*]}\""
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.words, out, err, tc.want)
		}
	}
}
