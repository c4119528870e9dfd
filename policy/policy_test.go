package policy

import (
	"context"
	"testing"
)

func TestClone(t *testing.T) {
	p := mustPreset(t, PresetAnonymous)
	p.Features.Add = []string{"EPSV"}
	p.Callbacks = &fakeCallbacks{}
	c := p.Clone()
	c.Commands["STOR"] = Action{Kind: Accept}
	c.Answers["*"] = Action{Kind: Reject}
	c.AllowedUsers[0] = "alice"
	c.SiteCommands[0] = "CHMOD"
	c.Features.Add[0] = "X"
	c.Features.Remove[0] = "Y"
	if _, ok := p.Commands["STOR"]; ok || p.Answers["*"].Kind != Accept || p.AllowedUsers[0] != "anonymous" || p.SiteCommands[0] != "HELP" ||
		p.Features.Add[0] != "EPSV" || p.Features.Remove[0] != "MODE Z" {
		t.Fatal("a change to the clone shows in the original")
	}
	if c.Callbacks != p.Callbacks || c.Name != p.Name {
		t.Fatal("clone lost fields")
	}
	if (&Policy{}).Clone().Commands != nil {
		t.Fatal("nil table became non-nil")
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Accept: "accept", Reject: "reject", Abort: "abort", Change: "change", Callback: "policy", Kind(9): "unknown"} {
		if k.String() != want {
			t.Errorf("%d: %q", int(k), k.String())
		}
	}
}

// TestSessionsIndependent checks that two sessions of one policy keep their own state.
func TestSessionsIndependent(t *testing.T) {
	p := mustPreset(t, PresetReadonly)
	a := loggedIn(t, p, "alice")
	b := p.NewSession(Info{})
	if v := b.Command(context.Background(), "LIST", ""); v.Code != 530 {
		t.Fatalf("second session inherits the first's login: %+v", v)
	}
	if !a.LoggedIn() || a.User() != "alice" {
		t.Fatal("first session lost its login")
	}
}
