package policy

import (
	"context"
	"strings"
	"testing"
)

// FuzzSession drives a session of every preset with arbitrary commands and answers and
// checks the verdicts' invariants: no panic, refusals carry a 4xx/5xx reply on one line,
// accepted commands carry an argument without line breaks.
func FuzzSession(f *testing.F) {
	f.Add("USER", "anonymous", 230, "RETR", "f", "PWD", 257)
	f.Add("REST", "100", 350, "STOR", "x", "RNFR", 350)
	f.Add("", "", 0, "RNTO", "y", "Null", 220)
	f.Add("opts", "MODE Z", 501, "EPRT", "|2|::1|1|", "*", -1)
	f.Fuzz(func(t *testing.T, v1, a1 string, c1 int, v2, a2, av string, c2 int) {
		ctx := context.Background()
		cb := &fakeCallbacks{
			commands: map[string]Verdict{"f": {Kind: Accept, Arg: a2}},
			answers:  map[string]Verdict{"g": {Kind: Change, Code: c2, Text: a1}},
		}
		for _, name := range PresetNames() {
			p, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			p.Callbacks = cb
			p.Commands["SITE"] = Action{Kind: Callback, Callback: "f"}
			p.Answers["SITE"] = Action{Kind: Callback, Callback: "g"}
			s := p.NewSession(Info{})
			for _, step := range []struct {
				arg string // the argument the client sent ("" for answers)
				run func() Verdict
			}{
				{a1, func() Verdict { return s.Command(ctx, v1, a1) }},
				{"", func() Verdict { return s.Answer(ctx, v1, c1, a2) }},
				{a1, func() Verdict { return s.Command(ctx, "SITE", a1) }},
				{"", func() Verdict { return s.Answer(ctx, "SITE", c1, a2) }},
				{a2, func() Verdict { return s.Command(ctx, v2, a2) }},
				{"", func() Verdict { return s.Answer(ctx, av, c2, a1) }},
			} {
				v := step.run()
				switch v.Kind {
				case Reject:
					if v.Code < 400 || v.Code > 599 || v.Text == "" || !safeText(v.Text) || v.Reason == "" {
						t.Fatalf("%s: bad refusal %+v", name, v)
					}
				case Change:
					if v.Code < 100 || v.Code > 599 || !safeText(v.Text) {
						t.Fatalf("%s: bad change %+v", name, v)
					}
				case Accept:
					if v.Arg != step.arg && strings.ContainsAny(v.Arg, "\r\n\x00") {
						t.Fatalf("%s: rewrote the argument %q into %+v", name, step.arg, v)
					}
				}
			}
			s.FilterFeatures([]string{a1, a2, av})
		}
	})
}
