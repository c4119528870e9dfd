package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line    string
		want    Command
		wantErr bool
	}{
		{"USER anonymous", Command{"USER", "anonymous"}, false},
		{"user bob", Command{"USER", "bob"}, false},
		{"Pass secret word", Command{"PASS", "secret word"}, false},
		{"NOOP", Command{"NOOP", ""}, false},
		{"LIST ", Command{"LIST", ""}, false},
		{"STOR  two spaces ", Command{"STOR", " two spaces "}, false},
		{"PORT 198,51,100,2,4,1", Command{"PORT", "198,51,100,2,4,1"}, false},
		{"X", Command{"X", ""}, false},
		{"ABCDEFGH x", Command{"ABCDEFGH", "x"}, false},
		{"CWD \xff\xc3\xa9", Command{"CWD", "\xff\xc3\xa9"}, false},
		{"", Command{}, true},
		{" NOOP", Command{}, true},
		{"ABCDEFGHI", Command{}, true},
		{"NO0P", Command{}, true},
		{"NOOP\tx", Command{}, true},
		{"\xf2ABOR", Command{}, true},
		{"RETR a\r\nDELE b", Command{}, true},
		{"RETR a\x00", Command{}, true},
		{"RETR a\nb", Command{}, true},
	}
	for _, tt := range tests {
		got, err := ParseCommand(tt.line)
		if tt.wantErr {
			if !errors.Is(err, ErrBadCommand) {
				t.Errorf("ParseCommand(%q) = %+v, %v; want ErrBadCommand", tt.line, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestCommandFormat(t *testing.T) {
	tests := []struct {
		c         Command
		str       string
		wire      string
		redacted  string
		sensitive bool
	}{
		{Command{"NOOP", ""}, "NOOP", "NOOP\r\n", "NOOP", false},
		{Command{"RETR", "a b"}, "RETR a b", "RETR a b\r\n", "RETR a b", false},
		{Command{"STOR", "\xffx"}, "STOR \xffx", "STOR \xff\xffx\r\n", "STOR \xffx", false},
		{Command{"PASS", "hunter2"}, "PASS hunter2", "PASS hunter2\r\n", "PASS ****", true},
		{Command{"ACCT", "acc"}, "ACCT acc", "ACCT acc\r\n", "ACCT ****", true},
		{Command{"PASS", ""}, "PASS", "PASS\r\n", "PASS", true},
		{Command{"USER", "bob"}, "USER bob", "USER bob\r\n", "USER bob", false},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.str {
			t.Errorf("%+v.String() = %q, want %q", tt.c, got, tt.str)
		}
		if got := tt.c.Bytes(); !bytes.Equal(got, []byte(tt.wire)) {
			t.Errorf("%+v.Bytes() = %q, want %q", tt.c, got, tt.wire)
		}
		if got := tt.c.Redacted(); got != tt.redacted {
			t.Errorf("%+v.Redacted() = %q, want %q", tt.c, got, tt.redacted)
		}
		if got := tt.c.Sensitive(); got != tt.sensitive {
			t.Errorf("%+v.Sensitive() = %v, want %v", tt.c, got, tt.sensitive)
		}
	}
}
