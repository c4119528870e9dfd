package script

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/policy"
)

func loadExample(t *testing.T, log *slog.Logger) *Program {
	t.Helper()
	src, err := os.ReadFile("testdata/example.star")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load("testdata/example.star", src, Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleCommands(t *testing.T) {
	var buf bytes.Buffer
	p := loadExample(t, slog.New(slog.NewTextHandler(&buf, nil)))
	anon := policy.Info{ID: 7, User: "anonymous"}
	alice := policy.Info{ID: 8, User: "alice", TLS: true}
	tests := []struct {
		name     string
		callback string
		info     policy.Info
		verb     string
		arg      string
		kind     policy.Kind
		code     int
		out      string // Arg for accept, Text otherwise
	}{
		{"STOR of a text file", "stor", alice, "STOR", "notes.txt", policy.Accept, 0, "notes.txt"},
		{"STOR of an exe", "stor", alice, "STOR", "Setup.EXE", policy.Reject, 553, "Executables are not accepted here."},
		{"STOR of a bat", "stor", anon, "STOR", "x.bat", policy.Reject, 553, "Executables are not accepted here."},
		{"CWD rewritten for anonymous", "cwd", anon, "CWD", "/private/x", policy.Accept, 0, "/pub/x"},
		{"CWD kept for alice", "cwd", alice, "CWD", "/private/x", policy.Accept, 0, "/private/x"},
		{"CWD elsewhere", "cwd", anon, "CWD", "/pub", policy.Accept, 0, "/pub"},
		{"SITE EXEC aborts", "site", alice, "SITE", "exec rm -rf /", policy.Abort, 0, ""},
		{"SITE CHMOD refused", "site", alice, "SITE", "CHMOD 777 x", policy.Reject, 502, "SITE is not available."},
		{"USER without TLS", "plain_login", policy.Info{}, "USER", "bob", policy.Reject, 530, "Use AUTH TLS first."},
		{"USER anonymous without TLS", "plain_login", policy.Info{}, "USER", "anonymous", policy.Accept, 0, "anonymous"},
		{"USER with TLS", "plain_login", alice, "USER", "bob", policy.Accept, 0, "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Command(context.Background(), tt.callback, tt.info, tt.verb, tt.arg)
			if err != nil {
				t.Fatal(err)
			}
			out := got.Text
			if got.Kind == policy.Accept {
				out = got.Arg
			}
			if got.Kind != tt.kind || got.Code != tt.code || out != tt.out {
				t.Errorf("verdict %+v, want %s %d %q", got, tt.kind, tt.code, tt.out)
			}
		})
	}
	if !strings.Contains(buf.String(), `msg="refusing Setup.EXE from "`) {
		t.Errorf("log %q lacks the print from stor", buf.String())
	}
}

func TestExampleGreeting(t *testing.T) {
	p := loadExample(t, nil)
	tests := []struct {
		name string
		code int
		want policy.Verdict
	}{
		{"220 changed", 220, policy.Verdict{Kind: policy.Change, Code: 220, Text: "ftp.example.org ready (via ftpgate).",
			Reason: "callback greeting in testdata/example.star: change"}},
		{"421 passes", 421, policy.Verdict{Kind: policy.Accept}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Answer(context.Background(), "greeting", testInfo(), "Null", tt.code, "vsFTPd 3.0.3")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("verdict %+v, want %+v", got, tt.want)
			}
		})
	}
}
