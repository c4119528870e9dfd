package ftp

import (
	"context"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/policy"
)

func TestReplay(t *testing.T) {
	pol := &fakePolicy{
		commands: map[string]policy.Verdict{"STOR": {Kind: policy.Reject, Code: 553, Text: "No uploads.", Reason: "readonly"}},
		answers:  map[string]policy.Verdict{"Null220": {Kind: policy.Change, Code: 220, Text: "Welcome"}, "SYST215": {Kind: policy.Reject, Code: 500, Text: "Error parsing answer"}},
	}
	transcript := `# a session
S: 220 vsFTPd 3.0.3
C: USER bob
S: 331 Password please.
C: PASS secret
S: 230 Ok.
C: SYST
S: 215-UNIX
S: 215 Type: L8
C: STOR x.bin
`
	var out strings.Builder
	if err := Replay(context.Background(), pol, strings.NewReader(transcript), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"S: 220 vsFTPd 3.0.3", "-> change: 220 Welcome",
		"C: PASS ****", "S: 215 Type: L8", "-> deny: client gets 500 Error parsing answer",
		"C: STOR x.bin", "-> reject: 553 No uploads. (readonly)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "secret") {
		t.Error("password printed")
	}
	if err := Replay(context.Background(), pol, strings.NewReader("X: what\n"), &out); err == nil {
		t.Error("bad transcript line accepted")
	}
}
