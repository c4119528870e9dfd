package policy

import "testing"

func TestLimitsWithDefaults(t *testing.T) {
	got := Limits{}.WithDefaults()
	want := Limits{MaxLineLength: 2048, MaxUsernameLength: 32, MaxPasswordLength: 64, MaxReplyLines: 1000, UsernameChars: DefaultUsernameChars}
	if got != want {
		t.Errorf("WithDefaults() = %+v", got)
	}
	set := Limits{MaxLineLength: 512, MaxUsernameLength: 8, MaxPasswordLength: 16, MaxReplyLines: 10, UsernameChars: "abc"}
	if got := set.WithDefaults(); got != set {
		t.Errorf("WithDefaults changed set limits: %+v", got)
	}
}

func TestCheckUserAndPassword(t *testing.T) {
	l := Limits{MaxUsernameLength: 5, MaxPasswordLength: 3}.WithDefaults()
	tests := []struct {
		name   string
		user   bool
		value  string
		wantOK bool
	}{
		{"user ok", true, "alice", true},
		{"user long", true, "alice1", false},
		{"user bad char", true, "a;b", false},
		{"user invalid utf8", true, "a\xffb", false},
		{"password ok", false, "abc", true},
		{"password long", false, "abcd", false},
	}
	for _, tt := range tests {
		why := l.checkPassword(tt.value)
		if tt.user {
			why = l.checkUser(tt.value)
		}
		if (why == "") != tt.wantOK {
			t.Errorf("%s: %q", tt.name, why)
		}
	}
}
