package policy

import "testing"

func TestRejectReplyDefaults(t *testing.T) {
	tests := []struct {
		verb     string
		code     int
		text     string
		wantCode int
		wantText string
	}{
		{"STOR", 0, "", 550, "Permission denied."},
		{"LIST", 0, "", 550, "Permission denied."},
		{"SITE", 0, "", 500, "Command not allowed by policy."},
		{"SITE", 502, "", 502, "Command not allowed by policy."},
		{"STOR", 0, "Read only.", 550, "Read only."},
		{"STOR", 553, "No.", 553, "No."},
	}
	for _, tt := range tests {
		c, s := rejectReply(tt.verb, tt.code, tt.text)
		if c != tt.wantCode || s != tt.wantText {
			t.Errorf("rejectReply(%s, %d, %q) = %d %q", tt.verb, tt.code, tt.text, c, s)
		}
	}
}
