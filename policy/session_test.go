package policy

import (
	"context"
	"strings"
	"testing"
)

// allowAll is a permissive policy for tests of the built-in checks and the state machine.
func allowAll() *Policy {
	return &Policy{Commands: map[string]Action{Wildcard: {Kind: Accept}}, PermitUnknownCommand: true}
}

func TestCommandEmpty(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		p          *Policy
		wantKind   Kind
		wantCode   int
		wouldRefus bool
	}{
		{"refused", &Policy{}, Reject, 500, false},
		{"permitted", &Policy{PermitEmptyCommand: true}, Accept, 0, false},
		{"learning", &Policy{DryRun: true}, Accept, 0, true},
	}
	for _, tt := range tests {
		v := tt.p.NewSession(Info{}).Command(ctx, "", "")
		if v.Kind != tt.wantKind || v.Code != tt.wantCode || v.WouldRefuse != tt.wouldRefus {
			t.Errorf("%s: %+v", tt.name, v)
		}
	}
}

func TestCommandLimits(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		limits   Limits
		verb     string
		arg      string
		wantCode int // 0: accepted
	}{
		{"user 32", Limits{}, "USER", strings.Repeat("a", 32), 0},
		{"user 33", Limits{}, "USER", strings.Repeat("a", 33), 501},
		{"user custom length", Limits{MaxUsernameLength: 4}, "USER", "alice", 501},
		{"user email", Limits{}, "USER", "a.b-c+d@example.org", 0},
		{"user space", Limits{}, "USER", "al ice", 501},
		{"user slash", Limits{}, "USER", "../root", 501},
		{"user NUL", Limits{}, "USER", "al\x00ice", 501},
		{"user non-ASCII default", Limits{}, "USER", "jürgen", 501},
		{"user custom chars", Limits{UsernameChars: "abcdefghijklmnopqrstuvwxyzü"}, "USER", "jürgen", 0},
		{"user custom chars refuse", Limits{UsernameChars: "abc"}, "USER", "abd", 501},
		{"user empty", Limits{}, "USER", "", 501},
		{"password 64", Limits{}, "PASS", strings.Repeat("p", 64), 0},
		{"password 65", Limits{}, "PASS", strings.Repeat("p", 65), 501},
		{"password spaces ok", Limits{}, "PASS", "correct horse battery staple", 0},
		{"password empty ok", Limits{}, "PASS", "", 0},
		{"line length", Limits{MaxLineLength: 10}, "USER", "abcdefg", 500},
		{"line length exact", Limits{MaxLineLength: 10}, "USER", "abcde", 0},
	}
	for _, tt := range tests {
		p := allowAll()
		p.Limits = tt.limits
		v := p.NewSession(Info{}).Command(ctx, tt.verb, tt.arg)
		if tt.wantCode == 0 && v.Kind != Accept || tt.wantCode != 0 && (v.Kind != Reject || v.Code != tt.wantCode) {
			t.Errorf("%s: %+v, want code %d", tt.name, v, tt.wantCode)
		}
		if v.Kind == Reject && v.Reason == "" {
			t.Errorf("%s: no reason", tt.name)
		}
		if tt.verb == "PASS" && strings.Contains(v.Reason, tt.arg) && tt.arg != "" {
			t.Errorf("%s: reason shows the password: %q", tt.name, v.Reason)
		}
	}
}

func TestBuiltinChecksIgnoreLearning(t *testing.T) {
	p := allowAll()
	p.DryRun = true
	s := p.NewSession(Info{})
	v := s.Command(context.Background(), "LIST", "")
	if v.Kind != Reject || v.Code != 530 || v.WouldRefuse {
		t.Fatalf("LIST before login in learning mode: %+v", v)
	}
}

func TestBeforeLogin(t *testing.T) {
	ctx := context.Background()
	for _, verb := range []string{"USER", "PASS", "ACCT", "AUTH", "PBSZ", "PROT", "FEAT", "OPTS", "QUIT", "NOOP", "HOST", "LANG"} {
		s := allowAll().NewSession(Info{})
		arg := map[string]string{"USER": "alice", "AUTH": "TLS", "PBSZ": "0", "PROT": "P", "OPTS": "UTF8 ON"}[verb]
		if v := s.Command(ctx, verb, arg); v.Kind != Accept {
			t.Errorf("%s before login: %+v", verb, v)
		}
	}
	for _, verb := range []string{"LIST", "RETR", "STOR", "PWD", "CWD", "SYST", "PASV", "PORT", "SITE", "XYZZY", "REST"} {
		s := allowAll().NewSession(Info{})
		v := s.Command(ctx, verb, "")
		if v.Kind != Reject || v.Code != 530 || v.Text != "Please login with USER and PASS." {
			t.Errorf("%s before login: %+v", verb, v)
		}
	}
}

func TestLoginState(t *testing.T) {
	ctx := context.Background()
	type step struct {
		verb string // command, or "<" + verb for an answer to it
		arg  string
		code int
	}
	tests := []struct {
		name     string
		steps    []step
		wantIn   bool
		wantUser string
	}{
		{"user pass", []step{{"USER", "alice", 0}, {"<USER", "", 331}, {"PASS", "pw", 0}, {"<PASS", "", 230}}, true, "alice"},
		{"user only", []step{{"USER", "anonymous", 0}, {"<USER", "", 230}}, true, "anonymous"},
		{"tls user", []step{{"USER", "bob", 0}, {"<USER", "", 232}}, true, "bob"},
		{"wrong password", []step{{"USER", "alice", 0}, {"<USER", "", 331}, {"PASS", "x", 0}, {"<PASS", "", 530}}, false, "alice"},
		{"account", []step{{"USER", "a", 0}, {"<USER", "", 331}, {"PASS", "x", 0}, {"<PASS", "", 332}, {"ACCT", "acc", 0}, {"<ACCT", "", 230}}, true, "a"},
		{"pass superfluous", []step{{"USER", "a", 0}, {"<USER", "", 230}, {"PASS", "x", 0}, {"<PASS", "", 202}}, true, "a"},
		{"rein", []step{{"USER", "a", 0}, {"<USER", "", 230}, {"REIN", "", 0}, {"<REIN", "", 220}}, false, ""},
		{"relogin in progress", []step{{"USER", "a", 0}, {"<USER", "", 230}, {"USER", "b", 0}, {"<USER", "", 331}}, false, "b"},
		{"change of user refused", []step{{"USER", "a", 0}, {"<USER", "", 230}, {"USER", "b", 0}, {"<USER", "", 530}}, true, "a"},
		{"230 to another verb", []step{{"USER", "a", 0}, {"<NOOP", "", 230}}, false, ""},
	}
	for _, tt := range tests {
		p := allowAll()
		p.Answers = map[string]Action{"USER331": {Kind: Accept}}
		s := p.NewSession(Info{})
		for _, st := range tt.steps {
			var v Verdict
			if verb, ok := strings.CutPrefix(st.verb, "<"); ok {
				v = s.Answer(ctx, verb, st.code, "text")
			} else {
				v = s.Command(ctx, st.verb, st.arg)
			}
			if v.Kind != Accept {
				t.Fatalf("%s: %+v refused: %+v", tt.name, st, v)
			}
		}
		if s.LoggedIn() != tt.wantIn || s.User() != tt.wantUser {
			t.Errorf("%s: LoggedIn %v User %q, want %v %q", tt.name, s.LoggedIn(), s.User(), tt.wantIn, tt.wantUser)
		}
	}
}

func TestRefusedAnswerDoesNotLogIn(t *testing.T) {
	ctx := context.Background()
	p := allowAll()
	p.Answers = map[string]Action{"USER230": {Kind: Reject}}
	s := p.NewSession(Info{})
	s.Command(ctx, "USER", "alice")
	if v := s.Answer(ctx, "USER", 230, "ok"); v.Kind != Reject {
		t.Fatalf("%+v", v)
	}
	if s.LoggedIn() {
		t.Fatal("a refused 230 logged the session in")
	}
	p.Answers = map[string]Action{"USER230": {Kind: Change, Code: 230, Text: "Welcome."}}
	s.Command(ctx, "USER", "alice")
	if v := s.Answer(ctx, "USER", 230, "ok"); v.Kind != Change || !s.LoggedIn() {
		t.Fatalf("changed 230: %+v, logged in %v", v, s.LoggedIn())
	}
}

func TestRename(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		script   []string // "C VERB" commands and "S CODE" answers (to the previous command)
		wantRNTO int      // 0: accepted
	}{
		{"rnfr 350 rnto", []string{"C RNFR", "S 350"}, 0},
		{"rnto alone", nil, 503},
		{"rnfr refused", []string{"C RNFR", "S 550"}, 503},
		{"rnfr no answer yet", []string{"C RNFR"}, 503},
		{"command in between", []string{"C RNFR", "S 350", "C NOOP", "S 200"}, 503},
		{"second rnfr", []string{"C RNFR", "S 350", "C RNFR", "S 350"}, 0},
		{"refused command in between", []string{"C RNFR", "S 350", "C MODE"}, 0},
	}
	for _, tt := range tests {
		s := loggedIn(t, allowAll(), "alice")
		last := ""
		for _, line := range tt.script {
			kind, what, _ := strings.Cut(line, " ")
			if kind == "C" {
				last = what
				s.Command(ctx, what, "x")
			} else {
				code := map[string]int{"350": 350, "550": 550, "200": 200}[what]
				s.Answer(ctx, last, code, "")
			}
		}
		v := s.Command(ctx, "RNTO", "y")
		if tt.wantRNTO == 0 && v.Kind != Accept || tt.wantRNTO != 0 && v.Code != tt.wantRNTO {
			t.Errorf("%s: RNTO = %+v", tt.name, v)
		}
		if v.Kind == Accept {
			if v := s.Command(ctx, "RNTO", "z"); v.Code != 503 {
				t.Errorf("%s: a second RNTO = %+v", tt.name, v)
			}
		}
	}
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		script []string // "C VERB ARG" or "S CODE"
		want   int64
	}{
		{"rest retr", []string{"C REST 100", "S 350", "C RETR f"}, 100},
		{"rest set-up retr", []string{"C REST 4294967296", "S 350", "C TYPE I", "S 200", "C EPSV", "S 229", "C RETR f"}, 4294967296},
		{"rest refused", []string{"C REST 100", "S 501", "C RETR f"}, 0},
		{"rest then list", []string{"C REST 100", "S 350", "C LIST", "C RETR f"}, 0},
		{"rest then cwd", []string{"C REST 100", "S 350", "C CWD d", "S 250", "C STOR f"}, 0},
		{"one transfer only", []string{"C REST 100", "S 350", "C RETR f", "S 226", "C RETR g"}, 0},
		{"stor", []string{"C REST 7", "S 350", "C STOR f"}, 7},
		{"appe", []string{"C REST 7", "S 350", "C APPE f"}, 7},
		{"no rest", []string{"C RETR f"}, 0},
		{"refused command in between", []string{"C REST 9", "S 350", "C MODE Z", "C RETR f"}, 9},
	}
	for _, tt := range tests {
		s := loggedIn(t, allowAll(), "alice")
		last := ""
		for _, line := range tt.script {
			f := strings.SplitN(line, " ", 3)
			if f[0] == "C" {
				last = f[1]
				arg := ""
				if len(f) == 3 {
					arg = f[2]
				}
				s.Command(ctx, f[1], arg)
			} else {
				code := map[string]int{"350": 350, "501": 501, "200": 200, "229": 229, "250": 250, "226": 226}[f[1]]
				s.Answer(ctx, last, code, "")
			}
		}
		if got := s.TransferOffset(); got != tt.want {
			t.Errorf("%s: TransferOffset = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestInfoUser(t *testing.T) {
	s := loggedIn(t, allowAll(), "alice")
	if i := s.Info(); i.User != "alice" || i.ID != 1 {
		t.Fatalf("Info = %+v", i)
	}
}
