package policy

import (
	"strings"
	"testing"
)

func TestKnownVerb(t *testing.T) {
	known := strings.Fields("USER PASS ACCT CWD CDUP SMNT REIN QUIT PORT PASV TYPE STRU MODE RETR STOR STOU APPE ALLO REST " +
		"RNFR RNTO ABOR DELE RMD MKD PWD LIST NLST SITE SYST STAT HELP NOOP XCWD XCUP XMKD XRMD XPWD AUTH ADAT PROT PBSZ " +
		"CCC MIC CONF ENC FEAT OPTS EPRT EPSV LANG MDTM SIZE MLST MLSD HOST CLNT AVBL MFMT")
	for _, v := range known {
		if !KnownVerb(v) {
			t.Errorf("KnownVerb(%q) = false", v)
		}
	}
	for _, v := range []string{"", "XYZZY", "user", "NULL", "*", "RETRX", "SITECHMOD"} {
		if KnownVerb(v) {
			t.Errorf("KnownVerb(%q) = true", v)
		}
	}
}

func TestAllowedBeforeLogin(t *testing.T) {
	for _, v := range strings.Fields("USER PASS ACCT AUTH PBSZ PROT FEAT OPTS QUIT NOOP HOST") {
		if !AllowedBeforeLogin(v) {
			t.Errorf("%s refused before login", v)
		}
	}
	for _, v := range strings.Fields("LIST RETR STOR CWD PWD SYST PASV PORT EPSV EPRT SITE HELP REST REIN") {
		if AllowedBeforeLogin(v) {
			t.Errorf("%s allowed before login", v)
		}
	}
}

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
