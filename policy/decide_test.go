package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fakeCallbacks answers callbacks from fixed tables and records what it was asked.
type fakeCallbacks struct {
	commands map[string]Verdict
	answers  map[string]Verdict
	err      error
	panicked bool
	calls    []string
	infos    []Info
}

func (f *fakeCallbacks) Command(_ context.Context, name string, info Info, verb, arg string) (Verdict, error) {
	f.calls = append(f.calls, name+" "+verb+" "+arg)
	f.infos = append(f.infos, info)
	if f.panicked {
		panic("boom")
	}
	return f.commands[name], f.err
}

func (f *fakeCallbacks) Answer(_ context.Context, name string, info Info, verb string, code int, text string) (Verdict, error) {
	f.calls = append(f.calls, name+" "+verb+" "+text)
	f.infos = append(f.infos, info)
	if f.panicked {
		panic("boom")
	}
	return f.answers[name], f.err
}

func (f *fakeCallbacks) HasCallback(name string) bool {
	_, c := f.commands[name]
	_, a := f.answers[name]
	return c || a
}

func TestCommandActions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		p        *Policy
		verb     string
		arg      string
		want     Verdict
		reasonIn string
	}{
		{"accept", &Policy{Commands: map[string]Action{"CWD": {Kind: Accept}}}, "CWD", "d",
			Verdict{Kind: Accept, Arg: "d"}, ""},
		{"reject default file verb", &Policy{Commands: map[string]Action{"CWD": {Kind: Reject}}}, "CWD", "d",
			Verdict{Kind: Reject, Code: 550, Text: "Permission denied.", Arg: "d"}, `entry "CWD"`},
		{"reject default other verb", &Policy{Commands: map[string]Action{"*": {Kind: Reject}}}, "SYST", "",
			Verdict{Kind: Reject, Code: 500, Text: "Command not allowed by policy."}, `entry "*"`},
		{"reject own code", &Policy{Commands: map[string]Action{"STOR": {Kind: Reject, Code: 553, Text: "No uploads."}}}, "STOR", "f",
			Verdict{Kind: Reject, Code: 553, Text: "No uploads.", Arg: "f"}, "STOR"},
		{"reject own code default text", &Policy{Commands: map[string]Action{"STOR": {Kind: Reject, Code: 502}}}, "STOR", "f",
			Verdict{Kind: Reject, Code: 502, Text: "Command not allowed by policy.", Arg: "f"}, "STOR"},
		{"abort", &Policy{Commands: map[string]Action{"DELE": {Kind: Abort}}}, "DELE", "f",
			Verdict{Kind: Abort, Arg: "f"}, "aborts"},
		{"no entry known verb", &Policy{Commands: map[string]Action{"RETR": {Kind: Accept}}}, "SYST", "",
			Verdict{Kind: Reject, Code: 500, Text: "Command not allowed by policy."}, "default reject"},
		{"unknown refused", &Policy{Commands: map[string]Action{"*": {Kind: Accept}}}, "XYZZY", "",
			Verdict{Kind: Reject, Code: 500, Text: "Unknown command."}, "unknown command XYZZY"},
		{"unknown permitted", &Policy{PermitUnknownCommand: true}, "XYZZY", "a",
			Verdict{Kind: Accept, Arg: "a"}, ""},
		{"unknown listed", &Policy{Commands: map[string]Action{"XYZZY": {Kind: Accept}}}, "XYZZY", "a",
			Verdict{Kind: Accept, Arg: "a"}, ""},
		{"lower-case verb", &Policy{Commands: map[string]Action{"SYST": {Kind: Accept}}}, "syst", "",
			Verdict{Kind: Accept}, ""},
		{"change is not for commands", &Policy{Commands: map[string]Action{"SYST": {Kind: Change, Code: 200, Text: "x"}}}, "SYST", "",
			Verdict{Kind: Reject, Code: 550, Text: "Policy error."}, "not valid for commands"},
		{"callback without callbacks", &Policy{Commands: map[string]Action{"SYST": {Kind: Callback, Callback: "f"}}}, "SYST", "",
			Verdict{Kind: Reject, Code: 550, Text: "Policy error.", CallbackError: true}, "no callbacks configured"},
		{"log modifier", &Policy{Commands: map[string]Action{"STOR": {Kind: Reject, DryRun: true}}}, "STOR", "f",
			Verdict{Kind: Accept, Arg: "f", WouldRefuse: true}, "would reject (550 Permission denied.)"},
		{"log modifier on abort", &Policy{Commands: map[string]Action{"DELE": {Kind: Abort, DryRun: true}}}, "DELE", "f",
			Verdict{Kind: Accept, Arg: "f", WouldRefuse: true}, "would abort"},
		{"log modifier on accept", &Policy{Commands: map[string]Action{"RETR": {Kind: Accept, DryRun: true}}}, "RETR", "f",
			Verdict{Kind: Accept, Arg: "f"}, ""},
		{"learning", &Policy{DryRun: true, Commands: map[string]Action{"*": {Kind: Reject}}}, "STOR", "f",
			Verdict{Kind: Accept, Arg: "f", WouldRefuse: true}, "dry run of the policy"},
		{"learning unknown", &Policy{DryRun: true}, "XYZZY", "",
			Verdict{Kind: Accept, WouldRefuse: true}, "unknown command"},
	}
	for _, tt := range tests {
		s := tt.p.NewSession(Info{})
		s.loggedIn = true
		v := s.Command(ctx, tt.verb, tt.arg)
		reason := v.Reason
		v.Reason = ""
		if v != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, v, tt.want)
		}
		if !strings.Contains(reason, tt.reasonIn) || (tt.want.Kind != Accept || tt.want.WouldRefuse) && reason == "" {
			t.Errorf("%s: reason %q, want it to contain %q", tt.name, reason, tt.reasonIn)
		}
	}
}

func TestAnswerActions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		answers  map[string]Action
		learning bool
		verb     string
		code     int
		want     Verdict
		reasonIn string
	}{
		{"accept", map[string]Action{"PWD257": {Kind: Accept}}, false, "PWD", 257, Verdict{Kind: Accept}, ""},
		{"no entry", nil, false, "PWD", 257, Verdict{Kind: Accept}, ""},
		{"reject", map[string]Action{"*": {Kind: Reject}}, false, "PWD", 257,
			Verdict{Kind: Reject, Code: 500, Text: "Error parsing answer"}, `entry "*"`},
		{"reject own", map[string]Action{"PWD": {Kind: Reject, Code: 550, Text: "Hidden."}}, false, "PWD", 257,
			Verdict{Kind: Reject, Code: 550, Text: "Hidden."}, `entry "PWD"`},
		{"change", map[string]Action{"PWD257": {Kind: Change, Code: 257, Text: `"/" is here.`}}, false, "PWD", 257,
			Verdict{Kind: Change, Code: 257, Text: `"/" is here.`}, "changed"},
		{"change without code", map[string]Action{"PWD257": {Kind: Change, Text: "x"}}, false, "PWD", 257,
			Verdict{Kind: Reject, Code: 500, Text: "Error parsing answer"}, "change needs"},
		{"abort", map[string]Action{"*421": {Kind: Abort}}, false, "PWD", 421,
			Verdict{Kind: Abort}, "aborts"},
		{"greeting", map[string]Action{"Null220": {Kind: Change, Code: 220, Text: "Hello."}}, false, "Null", 220,
			Verdict{Kind: Change, Code: 220, Text: "Hello."}, ""},
		{"callback without callbacks", map[string]Action{"*": {Kind: Callback, Callback: "f"}}, false, "PWD", 257,
			Verdict{Kind: Reject, Code: 500, Text: "Error parsing answer", CallbackError: true}, "no callbacks"},
		{"log", map[string]Action{"*": {Kind: Reject, DryRun: true}}, false, "PWD", 200,
			Verdict{Kind: Accept, WouldRefuse: true}, "would reject (500 Error parsing answer)"},
		{"log change", map[string]Action{"*": {Kind: Change, Code: 200, Text: "x", DryRun: true}}, false, "PWD", 200,
			Verdict{Kind: Accept, WouldRefuse: true}, "would change (200 x)"},
		{"learning", map[string]Action{"*": {Kind: Abort}}, true, "PWD", 200,
			Verdict{Kind: Accept, WouldRefuse: true}, "would abort"},
	}
	for _, tt := range tests {
		p := &Policy{Answers: tt.answers, DryRun: tt.learning}
		v := p.NewSession(Info{}).Answer(ctx, tt.verb, tt.code, "text")
		reason := v.Reason
		v.Reason = ""
		if v != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, v, tt.want)
		}
		if !strings.Contains(reason, tt.reasonIn) {
			t.Errorf("%s: reason %q, want it to contain %q", tt.name, reason, tt.reasonIn)
		}
	}
}

func TestCommandCallbacks(t *testing.T) {
	ctx := context.Background()
	cb := &fakeCallbacks{commands: map[string]Verdict{
		"accept":   {Kind: Accept},
		"rewrite":  {Kind: Accept, Arg: "/safe/path"},
		"reject":   {Kind: Reject, Code: 553, Text: "Not that name.", Reason: "bad name"},
		"rejectdf": {Kind: Reject},
		"abort":    {Kind: Abort},
		"change":   {Kind: Change, Code: 200, Text: "x"},
		"badcode":  {Kind: Reject, Code: 200, Text: "ok"},
		"crlf":     {Kind: Accept, Arg: "a\r\nDELE b"},
		"badtext":  {Kind: Reject, Code: 550, Text: "a\r\n226 ok"},
		"badtype":  {Kind: Accept, Arg: "E"},
		"admin":    {Kind: Accept, Arg: "root"},
	}}
	tests := []struct {
		callback string
		verb     string
		arg      string
		want     Verdict
		reasonIn string
	}{
		{"accept", "RETR", "f", Verdict{Kind: Accept, Arg: "f"}, ""},
		{"rewrite", "RETR", "f", Verdict{Kind: Accept, Arg: "/safe/path"}, ""},
		{"reject", "STOR", "f", Verdict{Kind: Reject, Code: 553, Text: "Not that name.", Arg: "f"}, `callback "reject": bad name`},
		{"rejectdf", "STOR", "f", Verdict{Kind: Reject, Code: 550, Text: "Permission denied.", Arg: "f"}, `callback "rejectdf"`},
		{"abort", "STOR", "f", Verdict{Kind: Abort, Arg: "f"}, `callback "abort"`},
		{"change", "STOR", "f", Verdict{Kind: Reject, Code: 550, Text: "Policy error.", Arg: "f", CallbackError: true}, "returned change"},
		{"badcode", "STOR", "f", Verdict{Kind: Reject, Code: 550, Text: "Policy error.", Arg: "f", CallbackError: true}, "4xx or 5xx"},
		{"crlf", "RETR", "a", Verdict{Kind: Reject, Code: 550, Text: "Policy error.", Arg: "a", CallbackError: true}, "line break"},
		{"badtext", "RETR", "a", Verdict{Kind: Reject, Code: 550, Text: "Policy error.", Arg: "a", CallbackError: true}, "one line"},
		{"badtype", "TYPE", "I", Verdict{Kind: Reject, Code: 504, Text: "Command not implemented for that parameter.", Arg: "I"}, "rewrote"},
		{"admin", "USER", "anonymous", Verdict{Kind: Reject, Code: 530, Text: "Login not allowed by policy.", Arg: "anonymous"}, "allowed_users"},
	}
	for _, tt := range tests {
		p := &Policy{Commands: map[string]Action{tt.verb: {Kind: Callback, Callback: tt.callback}}, Callbacks: cb,
			AllowedUsers: []string{"anonymous"}}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		s := p.NewSession(Info{ID: 7})
		s.loggedIn, s.user = true, "alice"
		v := s.Command(ctx, tt.verb, tt.arg)
		reason := v.Reason
		v.Reason = ""
		if v != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.callback, v, tt.want)
		}
		if !strings.Contains(reason, tt.reasonIn) {
			t.Errorf("%s: reason %q, want %q", tt.callback, reason, tt.reasonIn)
		}
	}
	if last := cb.infos[len(cb.infos)-1]; last.ID != 7 || last.User != "alice" {
		t.Errorf("callback saw info %+v", last)
	}
	if want := "rewrite RETR f"; cb.calls[1] != want {
		t.Errorf("call %q, want %q", cb.calls[1], want)
	}
}

func TestCallbackFailures(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		cb   *fakeCallbacks
		want string
	}{
		{"error", &fakeCallbacks{err: errors.New("step limit exceeded")}, "step limit exceeded"},
		{"panic", &fakeCallbacks{panicked: true}, "panicked: boom"},
	} {
		p := &Policy{
			Commands:  map[string]Action{"*": {Kind: Callback, Callback: "f"}},
			Answers:   map[string]Action{"*": {Kind: Callback, Callback: "g"}},
			Callbacks: tt.cb,
		}
		s := p.NewSession(Info{})
		s.loggedIn = true
		v := s.Command(ctx, "RETR", "f")
		if v.Kind != Reject || v.Code != 550 || !strings.Contains(v.Reason, tt.want) || !strings.HasPrefix(v.Reason, "policy: ") {
			t.Errorf("%s: command %+v", tt.name, v)
		}
		v = s.Answer(ctx, "RETR", 226, "done")
		if v.Kind != Reject || v.Code != 500 || v.Text != "Error parsing answer" || !strings.Contains(v.Reason, tt.want) {
			t.Errorf("%s: answer %+v", tt.name, v)
		}
		p.DryRun = true
		if v := s.Command(ctx, "RETR", "f"); v.Kind != Accept || !v.WouldRefuse || !strings.Contains(v.Reason, tt.want) {
			t.Errorf("%s: learning: %+v", tt.name, v)
		}
	}
}

func TestAnswerCallbacks(t *testing.T) {
	ctx := context.Background()
	cb := &fakeCallbacks{answers: map[string]Verdict{
		"accept":  {Kind: Accept},
		"reject":  {Kind: Reject},
		"own":     {Kind: Reject, Code: 550, Text: "No."},
		"change":  {Kind: Change, Code: 257, Text: `"/" hidden.`},
		"badchg":  {Kind: Change, Code: 257},
		"crlf":    {Kind: Change, Code: 257, Text: "a\n257 b"},
		"abort":   {Kind: Abort},
		"callbck": {Kind: Callback},
	}}
	tests := []struct {
		callback string
		want     Verdict
	}{
		{"accept", Verdict{Kind: Accept}},
		{"reject", Verdict{Kind: Reject, Code: 500, Text: "Error parsing answer"}},
		{"own", Verdict{Kind: Reject, Code: 550, Text: "No."}},
		{"change", Verdict{Kind: Change, Code: 257, Text: `"/" hidden.`}},
		{"badchg", Verdict{Kind: Reject, Code: 500, Text: "Error parsing answer", CallbackError: true}},
		{"crlf", Verdict{Kind: Reject, Code: 500, Text: "Error parsing answer", CallbackError: true}},
		{"abort", Verdict{Kind: Abort}},
		{"callbck", Verdict{Kind: Reject, Code: 500, Text: "Error parsing answer", CallbackError: true}},
	}
	for _, tt := range tests {
		p := &Policy{Answers: map[string]Action{"PWD2": {Kind: Callback, Callback: tt.callback}}, Callbacks: cb}
		v := p.NewSession(Info{}).Answer(ctx, "PWD", 257, `"/home/alice"`)
		v.Reason = ""
		if v != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.callback, v, tt.want)
		}
	}
	if want := `accept PWD "/home/alice"`; cb.calls[0] != want {
		t.Errorf("call %q, want %q", cb.calls[0], want)
	}
}
