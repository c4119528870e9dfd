package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cb := &fakeCallbacks{commands: map[string]Verdict{"check_stor": {}}}
	tests := []struct {
		name    string
		p       Policy
		wantErr string // "" for valid
	}{
		{"empty", Policy{}, ""},
		{"good", Policy{
			Commands:  map[string]Action{"*": {Kind: Reject}, "STOR": {Kind: Callback, Callback: "check_stor"}, "DELE": {Kind: Reject, Code: 553, Text: "No."}, "QUIT": {Kind: Abort}},
			Answers:   map[string]Action{"*": {Kind: Reject}, "PWD257": {Kind: Change, Code: 257, Text: "x"}, "Null2": {Kind: Accept}, "*421": {Kind: Abort, Code: 421}},
			Callbacks: cb, AllowedUsers: []string{"ftp"}, Features: Features{Remove: []string{"MODE Z"}, Add: []string{"EPSV"}},
		}, ""},
		{"lower-case command", Policy{Commands: map[string]Action{"stor": {}}}, `commands["stor"]: key must be`},
		{"command with digits", Policy{Commands: map[string]Action{"STOR2": {}}}, `commands["STOR2"]`},
		{"empty command key", Policy{Commands: map[string]Action{"": {}}}, `commands[""]`},
		{"change command", Policy{Commands: map[string]Action{"STOR": {Kind: Change, Code: 200, Text: "x"}}}, `commands["STOR"]: change is for answers only`},
		{"reject code 200", Policy{Commands: map[string]Action{"STOR": {Kind: Reject, Code: 200}}}, `commands["STOR"]: reject code 200 out of range`},
		{"reject code 600", Policy{Answers: map[string]Action{"*": {Kind: Reject, Code: 600}}}, `answers["*"]: reject code 600`},
		{"accept with code", Policy{Commands: map[string]Action{"STOR": {Kind: Accept, Code: 500}}}, "accept takes no code"},
		{"text with CRLF", Policy{Commands: map[string]Action{"STOR": {Kind: Reject, Text: "a\r\n226 b"}}}, "one line"},
		{"unknown kind", Policy{Commands: map[string]Action{"STOR": {Kind: Kind(42)}}}, "unknown action kind 42"},
		{"abort code", Policy{Commands: map[string]Action{"STOR": {Kind: Abort, Code: 42}}}, "abort code 42"},
		{"callback no name", Policy{Commands: map[string]Action{"STOR": {Kind: Callback}}, Callbacks: cb}, "needs a callback name"},
		{"callback no callbacks", Policy{Commands: map[string]Action{"STOR": {Kind: Callback, Callback: "f"}}}, `callback "f" named but the policy has no callbacks`},
		{"callback undefined", Policy{Commands: map[string]Action{"STOR": {Kind: Callback, Callback: "nope"}}, Callbacks: cb}, `callback "nope" is not defined`},
		{"callback with code", Policy{Commands: map[string]Action{"STOR": {Kind: Callback, Callback: "check_stor", Code: 500}}, Callbacks: cb}, "policy takes no code"},
		{"callback name on reject", Policy{Commands: map[string]Action{"STOR": {Kind: Reject, Callback: "f"}}}, `callback "f" given for action reject`},
		{"answer key 4 digits", Policy{Answers: map[string]Action{"PWD2570": {}}}, `answers["PWD2570"]: key must be`},
		{"answer key lower", Policy{Answers: map[string]Action{"pwd257": {}}}, `answers["pwd257"]`},
		{"answer key 0xx", Policy{Answers: map[string]Action{"*057": {}}}, `answers["*057"]`},
		{"change no code", Policy{Answers: map[string]Action{"PWD": {Kind: Change, Text: "x"}}}, "change needs a code"},
		{"change no text", Policy{Answers: map[string]Action{"PWD": {Kind: Change, Code: 257}}}, "change needs a text"},
		{"negative limit", Policy{Limits: Limits{MaxUsernameLength: -1}}, "max_username_length -1 out of range"},
		{"huge limit", Policy{Limits: Limits{MaxLineLength: 1 << 30}}, "max_line_length"},
		{"username chars space", Policy{Limits: Limits{UsernameChars: "ab c"}}, "username_chars contains ' '"},
		{"allowed user bad", Policy{AllowedUsers: []string{"al ice"}}, `allowed_users[0] "al ice"`},
		{"allowed user empty", Policy{AllowedUsers: []string{""}}, "allowed_users[0]: empty"},
		{"feature empty", Policy{Features: Features{Remove: []string{" "}}}, "features.remove[0]"},
		{"feature control", Policy{Features: Features{Add: []string{"A\tB"}}}, "features.add[0]"},
	}
	for _, tt := range tests {
		p := tt.p
		p.Name = "test"
		err := p.Validate()
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err %v, want it to contain %q", tt.name, err, tt.wantErr)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), `policy: invalid policy "test": `) {
			t.Errorf("%s: err %q not wrapped as expected", tt.name, err)
		}
	}
}

func TestValidateReportsAll(t *testing.T) {
	p := &Policy{Commands: map[string]Action{"b": {}, "a": {}}, Limits: Limits{MaxReplyLines: -1}}
	err := p.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	ia, ib := strings.Index(msg, `commands["a"]`), strings.Index(msg, `commands["b"]`)
	if ia < 0 || ib < ia || !strings.Contains(msg, "max_reply_lines") {
		t.Fatalf("want every problem, sorted: %q", msg)
	}
}
