package policy

import (
	"context"
	"testing"
)

// TestUnfiltered: a session without a policy passes every command and answer unchanged,
// refuses only the empty command, and still tracks the login, the user and the restart
// offset.
func TestUnfiltered(t *testing.T) {
	ctx := context.Background()
	s := Unfiltered(Info{ID: 3})
	for _, c := range []struct{ verb, arg string }{{"XYZZY", "a"}, {"STOR", "x"}, {"TYPE", "E"}, {"PASV", ""}} {
		if v := s.Command(ctx, c.verb, c.arg); v.Kind != Accept || v.Arg != c.arg {
			t.Errorf("%s %s before login: %+v", c.verb, c.arg, v)
		}
	}
	if v := s.Command(ctx, "", ""); v.Kind != Reject || v.Code != 500 {
		t.Errorf("empty command: %+v", v)
	}
	if v := s.Answer(ctx, "OPTS", 530, "no"); v.Kind != Accept {
		t.Errorf("answer: %+v", v)
	}
	s.Command(ctx, "USER", "carol")
	s.Answer(ctx, "USER", 331, "password")
	s.Command(ctx, "PASS", "x")
	s.Answer(ctx, "PASS", 230, "in")
	if !s.LoggedIn() || s.User() != "carol" || s.Info().User != "carol" {
		t.Errorf("login: logged in %t, user %q", s.LoggedIn(), s.User())
	}
	s.Command(ctx, "REST", "4096")
	s.Answer(ctx, "REST", 350, "restarting")
	s.Command(ctx, "TYPE", "I")
	s.Command(ctx, "RETR", "f")
	if got := s.TransferOffset(); got != 4096 {
		t.Errorf("TransferOffset = %d, want 4096", got)
	}
	if got := s.FilterFeatures([]string{" MDTM", " MODE Z"}); len(got) != 2 {
		t.Errorf("FilterFeatures changed the features: %q", got)
	}
}

// TestSetTLS: the session's TLS state reaches Info (and so the callbacks' session.tls).
func TestSetTLS(t *testing.T) {
	s := allowAll().NewSession(Info{ID: 1})
	if s.Info().TLS {
		t.Fatal("TLS before SetTLS")
	}
	s.SetTLS(true)
	if !s.Info().TLS {
		t.Fatal("SetTLS(true) not in Info")
	}
	s.SetTLS(false)
	if s.Info().TLS {
		t.Fatal("SetTLS(false) not in Info")
	}
}
