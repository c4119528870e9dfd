package policy

import "testing"

// TestAnswerActionPrecedence removes the table's keys one by one, most specific first, and
// checks that each lookup falls through to the next key in Zorp's order.
func TestAnswerActionPrecedence(t *testing.T) {
	order := []string{"PWD200", "PWD20", "PWD2", "PWD", "*200", "*20", "*2", "*"}
	answers := map[string]Action{}
	for i, k := range order {
		answers[k] = Action{Kind: Change, Code: 200 + i, Text: k}
	}
	p := &Policy{Answers: answers}
	for _, want := range order {
		a := p.AnswerAction("PWD", 200)
		if a.Text != want {
			t.Fatalf("with keys from %q on: got entry %q", want, a.Text)
		}
		delete(answers, want)
	}
	if a := p.AnswerAction("PWD", 200); a.Kind != Accept || a.Text != "" {
		t.Fatalf("empty table: got %+v, want accept", a)
	}
}

func TestAnswerActionTable(t *testing.T) {
	p := &Policy{Answers: map[string]Action{
		"PWD257": {Kind: Accept},
		"PWD2":   {Kind: Change, Code: 250, Text: "PWD2"},
		"PWD":    {Kind: Abort},
		"*421":   {Kind: Abort, Code: 421},
		"*5":     {Kind: Change, Code: 550, Text: "*5"},
		"*":      {Kind: Reject},
		"Null2":  {Kind: Change, Code: 220, Text: "Null2"},
		"USER23": {Kind: Change, Code: 230, Text: "USER23"},
	}}
	tests := []struct {
		verb     string
		code     int
		wantKind Kind
		wantText string
		wantKey  string
	}{
		{"PWD", 257, Accept, "", "PWD257"},
		{"pwd", 257, Accept, "", "PWD257"},
		{"PWD", 200, Change, "PWD2", "PWD2"},
		{"PWD", 550, Abort, "", "PWD"},
		{"PWD", 421, Abort, "", "PWD"}, // the verb beats the wildcard however specific
		{"CWD", 421, Abort, "", "*421"},
		{"CWD", 550, Change, "*5", "*5"},
		{"CWD", 250, Reject, "", "*"},
		{"Null", 220, Change, "Null2", "Null2"},
		{"", 220, Change, "Null2", "Null2"},
		{"NULL", 220, Reject, "", "*"}, // a client's NULL command is not the greeting
		{"USER", 230, Change, "USER23", "USER23"},
		{"USER", 231, Change, "USER23", "USER23"},
		{"USER", 331, Reject, "", "*"},
		{"CWD", 1234, Reject, "", "*"}, // out of range: only the bare keys can match
		{"CWD", -5, Reject, "", "*"},
		{"PWD", 7, Abort, "", "PWD"}, // "007": no key starts with 0
	}
	for _, tt := range tests {
		a, key := p.answerEntry(tt.verb, tt.code)
		if a.Kind != tt.wantKind || a.Text != tt.wantText || key != tt.wantKey {
			t.Errorf("answerEntry(%q, %d) = %+v via %q, want %s %q via %q", tt.verb, tt.code, a, key, tt.wantKind, tt.wantText, tt.wantKey)
		}
		if got := p.AnswerAction(tt.verb, tt.code); got != a {
			t.Errorf("AnswerAction(%q, %d) = %+v, answerEntry says %+v", tt.verb, tt.code, got, a)
		}
	}
}

func TestCommandAction(t *testing.T) {
	tests := []struct {
		name     string
		commands map[string]Action
		verb     string
		want     Action
		wantOK   bool
	}{
		{"exact", map[string]Action{"STOR": {Kind: Reject, Code: 553}, "*": {Kind: Accept}}, "STOR", Action{Kind: Reject, Code: 553}, true},
		{"lower case verb", map[string]Action{"STOR": {Kind: Abort}}, "stor", Action{Kind: Abort}, true},
		{"wildcard", map[string]Action{"STOR": {Kind: Abort}, "*": {Kind: Reject, Code: 502}}, "RETR", Action{Kind: Reject, Code: 502}, true},
		{"none", map[string]Action{"STOR": {Kind: Abort}}, "RETR", Action{}, false},
		{"nil table", nil, "RETR", Action{}, false},
	}
	for _, tt := range tests {
		p := &Policy{Commands: tt.commands}
		got, ok := p.CommandAction(tt.verb)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: CommandAction(%q) = %+v, %v; want %+v, %v", tt.name, tt.verb, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestSplitAnswerKey(t *testing.T) {
	tests := []struct {
		key          string
		verb, digits string
		ok           bool
	}{
		{"PWD257", "PWD", "257", true},
		{"PWD2", "PWD", "2", true},
		{"PWD", "PWD", "", true},
		{"*", "*", "", true},
		{"*42", "*", "42", true},
		{"Null220", "Null", "220", true},
		{"Null", "Null", "", true},
		{"MIC631", "MIC", "631", true},
		{"PWD2570", "PWD", "2570", false},
		{"PWD057", "PWD", "057", false},
		{"PWD757", "PWD", "757", false},
		{"pwd257", "pwd", "257", false},
		{"NULL220", "NULL", "220", true}, // an upper-case verb, not the greeting
		{"", "", "", false},
		{"257", "", "257", false},
		{"P*D", "P*D", "", false},
		{"**2", "**", "2", false},
	}
	for _, tt := range tests {
		v, d, ok := splitAnswerKey(tt.key)
		if v != tt.verb || d != tt.digits || ok != tt.ok {
			t.Errorf("splitAnswerKey(%q) = %q, %q, %v; want %q, %q, %v", tt.key, v, d, ok, tt.verb, tt.digits, tt.ok)
		}
	}
}
