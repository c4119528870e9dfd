package policy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// loggedIn returns a session of p that has logged in as user.
func loggedIn(t *testing.T, p *Policy, user string) *Session {
	t.Helper()
	s := p.NewSession(Info{ID: 1})
	ctx := context.Background()
	if v := s.Command(ctx, "USER", user); v.Kind != Accept {
		t.Fatalf("USER %s: %+v", user, v)
	}
	if v := s.Answer(ctx, "USER", 230, "Logged in."); v.Kind != Accept {
		t.Fatalf("230 to USER: %+v", v)
	}
	if !s.LoggedIn() {
		t.Fatal("not logged in after 230")
	}
	return s
}

func mustPreset(t *testing.T, name string) *Policy {
	t.Helper()
	p, err := Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPresetsValidate(t *testing.T) {
	for _, name := range PresetNames() {
		p := mustPreset(t, name)
		if p.Name != name {
			t.Errorf("%s: Name = %q", name, p.Name)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !slices.IsSorted(PresetNames()) {
		t.Errorf("PresetNames not sorted: %v", PresetNames())
	}
}

func TestPresetUnknown(t *testing.T) {
	_, err := Preset("readonyl")
	if !errors.Is(err, ErrUnknownPreset) || !strings.HasPrefix(err.Error(), "policy: ") || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("err = %v", err)
	}
}

func TestPresetFreshCopy(t *testing.T) {
	a := mustPreset(t, PresetReadonly)
	a.Commands["STOR"] = Action{Kind: Accept}
	a.Answers["*"] = Action{Kind: Reject}
	a.Features.Remove[0] = "X"
	b := mustPreset(t, PresetReadonly)
	if _, ok := b.Commands["STOR"]; ok {
		t.Error("a change to one preset copy shows in the next")
	}
	if b.Answers["*"].Kind != Accept || b.Features.Remove[0] != "MODE Z" {
		t.Error("a change to one preset copy shows in the next")
	}
}

func TestPresetCommandSets(t *testing.T) {
	readonly := strings.Fields("ABOR ACCT AUTH AVBL CDUP CLNT CWD EPRT EPSV FEAT HASH HELP HOST LANG LIST MDTM MLSD MLST " +
		"MODE NLST NOOP OPTS PASS PASV PBSZ PORT PRET PROT PWD QUIT REIN REST RETR SITE SIZE STAT STRU SYST TYPE USER " +
		"XCRC XCUP XCWD XPWD")
	write := strings.Fields("APPE DELE MKD RMD RNFR RNTO STOR STOU ALLO XMKD XRMD MFMT MFCT MFF")
	deny := strings.Fields("USER PASS ACCT QUIT AUTH PBSZ PROT FEAT PORT PASV EPRT EPSV TYPE MODE STRU")
	tests := []struct {
		name string
		want []string
	}{
		{PresetDeny, deny},
		{PresetReadonly, readonly},
		{PresetAnonymous, readonly},
		{PresetReadwrite, append(slices.Clone(readonly), write...)},
	}
	for _, tt := range tests {
		p := mustPreset(t, tt.name)
		var got []string
		for k, a := range p.Commands {
			if k == Wildcard {
				if a.Kind != Reject {
					t.Errorf("%s: \"*\" is %s", tt.name, a.Kind)
				}
				continue
			}
			if a.Kind != Accept {
				t.Errorf("%s: %s is %s", tt.name, k, a.Kind)
			}
			got = append(got, k)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tt.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: commands %v, want %v", tt.name, got, want)
		}
		if p.PermitUnknownCommand {
			t.Errorf("%s permits unknown commands", tt.name)
		}
	}
}

func TestPresetBehaviour(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		preset   string
		verb     string
		arg      string
		wantKind Kind
		wantCode int
	}{
		{PresetReadonly, "STOR", "f", Reject, 550},
		{PresetReadonly, "RETR", "f", Accept, 0},
		{PresetReadonly, "DELE", "f", Reject, 550},
		{PresetReadonly, "SITE", "CHMOD 777 f", Reject, 504},
		{PresetReadonly, "SITE", "HELP", Accept, 0},
		{PresetReadonly, "SITE", "", Reject, 501},
		{PresetReadonly, "MFMT", "20260101000000 f", Reject, 550},
		{PresetReadonly, "XPWD", "", Accept, 0},
		{PresetReadonly, "HOST", "ftp.example.org", Accept, 0},
		{PresetReadonly, "XYZZY", "", Reject, 500},
		{PresetReadonly, "OPTS", "UTF8 ON", Accept, 0},
		{PresetReadonly, "OPTS", "MODE Z LEVEL 9", Reject, 501},
		{PresetReadwrite, "STOR", "f", Accept, 0},
		{PresetReadwrite, "ALLO", "100", Accept, 0},
		{PresetReadwrite, "SITE", "CHMOD 777 f", Accept, 0},
		{PresetReadwrite, "SITE", "utime 20260101000000 f", Accept, 0},
		{PresetReadwrite, "SITE", "EXEC rm -rf /", Reject, 504},
		{PresetReadwrite, "MFMT", "20260101000000 f", Accept, 0},
		{PresetReadwrite, "XMKD", "d", Accept, 0},
		{PresetDeny, "LIST", "", Reject, 550},
		{PresetDeny, "RETR", "f", Reject, 550},
		{PresetDeny, "PWD", "", Reject, 500},
		{PresetDeny, "PASV", "", Accept, 0},
		{PresetDeny, "TYPE", "I", Accept, 0},
		{PresetAllow, "XYZZY", "plugh", Accept, 0},
		{PresetAllow, "SITE", "CHMOD 777 f", Accept, 0},
		{PresetAllow, "STOR", "f", Accept, 0},
		{PresetAllow, "MODE", "Z", Reject, 504}, // built-in checks hold in every preset
		{PresetAnonymous, "STOR", "f", Reject, 550},
		{PresetAnonymous, "RETR", "f", Accept, 0},
	}
	for _, tt := range tests {
		s := loggedIn(t, mustPreset(t, tt.preset), "ftp")
		v := s.Command(ctx, tt.verb, tt.arg)
		if v.Kind != tt.wantKind || v.Code != tt.wantCode {
			t.Errorf("%s: %s %s = %+v, want %s %d", tt.preset, tt.verb, tt.arg, v, tt.wantKind, tt.wantCode)
		}
		if v.Kind == Reject && (v.Text == "" || v.Reason == "") {
			t.Errorf("%s: %s: refusal without text or reason: %+v", tt.preset, tt.verb, v)
		}
		if v.Kind == Accept && v.Arg != tt.arg {
			t.Errorf("%s: %s: Arg = %q, want %q", tt.preset, tt.verb, v.Arg, tt.arg)
		}
	}
}

func TestPresetAnonymousUsers(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		user     string
		wantKind Kind
		wantCode int
	}{
		{"anonymous", Accept, 0},
		{"ftp", Accept, 0},
		{"alice", Reject, 530},
		{"Anonymous", Reject, 530},
		{"anonymous2", Reject, 530},
	}
	for _, tt := range tests {
		s := mustPreset(t, PresetAnonymous).NewSession(Info{})
		v := s.Command(ctx, "USER", tt.user)
		if v.Kind != tt.wantKind || v.Code != tt.wantCode {
			t.Errorf("USER %s = %+v, want %s %d", tt.user, v, tt.wantKind, tt.wantCode)
		}
	}
	// readonly admits alice.
	s := mustPreset(t, PresetReadonly).NewSession(Info{})
	if v := s.Command(ctx, "USER", "alice"); v.Kind != Accept {
		t.Errorf("readonly: USER alice = %+v", v)
	}
}

// TestPresetAnswerTable: every preset passes every well-formed answer unchanged, errors
// included (a gateway must not change what the server says unless the operator asks it
// to), and ends the session on 421; the per-command RFC codes are listed for operators who
// make "*" strict.
func TestPresetAnswerTable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		verb     string
		code     int
		wantKind Kind
	}{
		{"USER", 230, Accept},
		{"USER", 226, Accept},
		{"Null", 220, Accept},
		{"Null", 230, Accept},
		{"PWD", 257, Accept},
		{"PWD", 421, Abort},
		{"FEAT", 530, Accept}, // FEAT before login on some servers
		{"FEAT", 500, Accept}, // a server without FEAT
		{"OPTS", 530, Accept},
		{"OPTS", 504, Accept},
		{"SITE", 214, Accept}, // SITE HELP
		{"HOST", 220, Accept},
		{"MFMT", 213, Accept},
		{"XPWD", 257, Accept},
		{"RETR", 554, Accept},
	}
	for _, name := range []string{PresetDeny, PresetReadonly, PresetReadwrite, PresetAnonymous} {
		for _, tt := range tests {
			s := mustPreset(t, name).NewSession(Info{})
			if v := s.Answer(ctx, tt.verb, tt.code, "text"); v.Kind != tt.wantKind || v.WouldRefuse {
				t.Errorf("%s: %d to %s = %+v, want %s", name, tt.code, tt.verb, v, tt.wantKind)
			}
		}
	}
	// Strict answers are one entry away: unlisted codes are then refused, listed ones pass.
	p := mustPreset(t, PresetReadonly)
	p.Answers[Wildcard] = Action{Kind: Reject}
	s := p.NewSession(Info{})
	if v := s.Answer(ctx, "PWD", 200, "x"); v.Kind != Reject || v.Code != 500 || v.Text != "Error parsing answer" {
		t.Errorf("strict: 200 to PWD = %+v, want 500 Error parsing answer", v)
	}
	for _, c := range []struct {
		verb string
		code int
	}{{"PWD", 257}, {"SITE", 214}, {"OPTS", 501}, {"HOST", 220}, {"USER", 331}} {
		if v := s.Answer(ctx, c.verb, c.code, "x"); v.Kind != Accept {
			t.Errorf("strict: %d to %s = %+v, want accept (an RFC code)", c.code, c.verb, v)
		}
	}
	s = mustPreset(t, PresetAllow).NewSession(Info{})
	for _, tt := range []struct {
		code int
		want Kind
	}{{226, Accept}, {999, Accept}, {421, Abort}} {
		if v := s.Answer(ctx, "USER", tt.code, "x"); v.Kind != tt.want {
			t.Errorf("allow: %d to USER = %+v, want %s", tt.code, v, tt.want)
		}
	}
}

// TestPresetAnswerTableZorp pins the rows the issue quotes from Zorp's loadAnswers.
func TestPresetAnswerTableZorp(t *testing.T) {
	rows := map[string]string{
		"USER": "230 232 331 332 336 501 530",
		"PASV": "227 501 502 530",
		"RETR": "110 125 150 226 250 425 426 450 451 452 501 530 532 534 535 550 553 554",
	}
	table := answerTable()
	for verb, codes := range rows {
		want := strings.Fields(codes)
		var got []string
		for k := range table {
			if v, d, _ := splitAnswerKey(k); v == verb && len(d) == 3 {
				got = append(got, d)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: codes %v, want %v", verb, got, want)
		}
	}
}
