package policy

import (
	"context"
	"testing"
)

func TestCheckArg(t *testing.T) {
	tests := []struct {
		verb, arg string
		wantCode  int // 0: fine
	}{
		{"TYPE", "A", 0},
		{"TYPE", "a", 0},
		{"TYPE", "A N", 0},
		{"TYPE", "I", 0},
		{"TYPE", "L 8", 0},
		{"TYPE", "A T", 504},
		{"TYPE", "A C", 504},
		{"TYPE", "E", 504},
		{"TYPE", "L 7", 504},
		{"TYPE", "L", 504},
		{"TYPE", "I N", 504},
		{"TYPE", "", 501},
		{"TYPE", "A N X", 501},
		{"MODE", "S", 0},
		{"MODE", "s", 0},
		{"MODE", "Z", 504},
		{"MODE", "B", 504},
		{"MODE", "C", 504},
		{"MODE", "", 501},
		{"STRU", "F", 0},
		{"STRU", "R", 504},
		{"STRU", "P", 504},
		{"STRU", "", 501},
		{"REST", "0", 0},
		{"REST", "100", 0},
		{"REST", "9223372036854775807", 0},
		{"REST", "9223372036854775808", 501},
		{"REST", "99999999999999999999", 501},
		{"REST", "-1", 501},
		{"REST", "+1", 501},
		{"REST", "1e3", 501},
		{"REST", "", 501},
		{"REST", " 1", 501},
		{"PORT", "192,168,1,2,4,1", 0},
		{"PORT", "0,0,0,0,0,0", 501}, // port 0: one PORT grammar (wire) for policy and session
		{"PORT", "192,168,1,2,4,256", 501},
		{"PORT", "192,168,1,2,4", 501},
		{"PORT", "192,168,1,2,4,1,1", 501},
		{"PORT", "192,168,1,2,4,-1", 501},
		{"PORT", "192,168,1,2,4,", 501},
		{"PORT", "192,168,1,2,4,0001", 501},
		{"PORT", "", 501},
		{"EPRT", "|1|192.168.1.2|1025|", 0},
		{"EPRT", "|2|2001:db8::1|1025|", 0},
		{"EPRT", "!2!::1!65535!", 0},
		{"EPRT", "|1|2001:db8::1|1025|", 501},
		{"EPRT", "|2|192.168.1.2|1025|", 501},
		{"EPRT", "|2|fe80::1%eth0|1025|", 501},
		{"EPRT", "|3|192.168.1.2|1025|", 522},
		{"EPRT", "|x|192.168.1.2|1025|", 501},
		{"EPRT", "|1|192.168.1.2|0|", 501},
		{"EPRT", "|1|192.168.1.2|65536|", 501},
		{"EPRT", "|1|192.168.1.2|+80|", 501},
		{"EPRT", "|1|192.168.1.2|1025", 501},
		{"EPRT", "|1|192.168.1.2|1025|x", 501},
		{"EPRT", "|1|host.example|1025|", 501},
		{"EPRT", " 1 192.168.1.2 1025 ", 501},
		{"EPRT", "", 501},
		{"EPSV", "", 0},
		{"EPSV", "1", 0},
		{"EPSV", "2", 0},
		{"EPSV", "ALL", 0},
		{"EPSV", "all", 0},
		{"EPSV", "3", 522},
		{"EPSV", "x", 501},
		{"PASV", "", 0},
		{"PASV", "x", 501},
		{"USER", "", 501},
		{"USER", "a", 0},
		{"RETR", "anything at all", 0},
	}
	for _, tt := range tests {
		r := checkArg(tt.verb, tt.arg)
		got := 0
		if r != nil {
			got = r.code
			if r.text == "" || r.reason == "" {
				t.Errorf("%s %q: refusal without text or reason: %+v", tt.verb, tt.arg, r)
			}
		}
		if got != tt.wantCode {
			t.Errorf("checkArg(%s, %q) = %d, want %d", tt.verb, tt.arg, got, tt.wantCode)
		}
	}
}

// TestArgChecksInSession checks that Command applies the argument checks even where the
// table accepts everything, and does not forward a refused command.
func TestArgChecksInSession(t *testing.T) {
	ctx := context.Background()
	s := loggedIn(t, allowAll(), "alice")
	for _, c := range []struct{ verb, arg string }{{"TYPE", "E"}, {"MODE", "Z"}, {"STRU", "R"}, {"REST", "-1"}, {"PORT", "1,2,3"}, {"EPRT", "|9|x|1|"}} {
		if v := s.Command(ctx, c.verb, c.arg); v.Kind != Reject || v.Arg != c.arg {
			t.Errorf("%s %s: %+v", c.verb, c.arg, v)
		}
	}
	if v := s.Command(ctx, "type", "i"); v.Kind != Accept || v.Arg != "i" {
		t.Errorf("type i: %+v", v)
	}
}
