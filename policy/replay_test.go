package policy

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

func TestReplay(t *testing.T) {
	pol := &scripted{
		commands: map[string]Verdict{"STOR": {Kind: Reject, Code: 553, Text: "No uploads.", Reason: "readonly"}},
		answers:  map[string]Verdict{"Null220": {Kind: Change, Code: 220, Text: "Welcome"}, "SYST215": {Kind: Reject, Code: 500, Text: "Error parsing answer"}},
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

// scripted returns scripted verdicts: by verb for commands, by "VERBcode" for answers;
// anything unscripted is accepted.
type scripted struct {
	commands map[string]Verdict
	answers  map[string]Verdict
}

func (f *scripted) Command(_ context.Context, verb, arg string) Verdict {
	if v, ok := f.commands[verb]; ok {
		return v
	}
	return Verdict{Kind: Accept, Arg: arg}
}

func (f *scripted) Answer(_ context.Context, verb string, code int, _ string) Verdict {
	if v, ok := f.answers[verb+strconv.Itoa(code)]; ok {
		return v
	}
	return Verdict{Kind: Accept}
}
