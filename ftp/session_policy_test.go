package ftp

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/policy"
)

// fakePolicy returns scripted verdicts: by verb for commands, by "VERBcode" for answers;
// anything unscripted is accepted.
type fakePolicy struct {
	commands map[string]policy.Verdict
	answers  map[string]policy.Verdict
	addFeat  string
	user     string // what User reports
	offset   int64  // what TransferOffset reports
}

func (f *fakePolicy) Command(_ context.Context, verb, arg string) policy.Verdict {
	if v, ok := f.commands[verb]; ok {
		return v
	}
	return policy.Verdict{Kind: policy.Accept, Arg: arg}
}

func (f *fakePolicy) Answer(_ context.Context, verb string, code int, _ string) policy.Verdict {
	if v, ok := f.answers[verb+strconv.Itoa(code)]; ok {
		return v
	}
	return policy.Verdict{Kind: policy.Accept}
}

func (f *fakePolicy) User() string          { return f.user }
func (f *fakePolicy) TransferOffset() int64 { return f.offset }
func (f *fakePolicy) SetTLS(bool)           {}
func (f *fakePolicy) Sent(string, string)   {}

func (f *fakePolicy) FilterFeatures(lines []string) []string {
	if f.addFeat != "" {
		lines = append(lines, " "+f.addFeat)
	}
	return lines
}

func TestSessionPolicyCommands(t *testing.T) {
	pol := &fakePolicy{commands: map[string]policy.Verdict{
		"STOR": {Kind: policy.Reject, Code: 553, Text: "Uploads are not allowed.", Reason: "readonly"},
		"CWD":  {Kind: policy.Accept, Arg: "/rewritten"},
		"SITE": {Kind: policy.Accept, Arg: "CHMOD 600 x", WouldRefuse: true, Reason: "learning"},
	}}
	hs := newHarnessPolicy(t, pol, func(c *ftptest.Conn, line string) { c.Reply("250 Ok " + line) })
	if got := hs.cmd("STOR x.bin"); got != "553 Uploads are not allowed." {
		t.Fatalf("STOR: %q", got)
	}
	if got := hs.cmd("CWD /etc"); got != "250 Ok CWD /rewritten" {
		t.Fatalf("CWD: %q", got)
	}
	if got := hs.cmd("SITE CHMOD 600 x"); got != "250 Ok SITE CHMOD 600 x" {
		t.Fatalf("SITE: %q", got)
	}
	for _, l := range hs.srv.Received() {
		if strings.HasPrefix(l, "STOR") {
			t.Fatal("the server received the refused STOR")
		}
	}
	if n := len(hs.logs.records("command would be refused by policy (accepted: dry run)")); n != 1 {
		t.Errorf("%d would-refuse records, want 1", n)
	}
}

func TestSessionPolicyAbort(t *testing.T) {
	pol := &fakePolicy{commands: map[string]policy.Verdict{"DELE": {Kind: policy.Abort, Reason: "no deleting"}}}
	hs := newHarnessPolicy(t, pol, func(c *ftptest.Conn, line string) { c.Reply("250 Ok.") })
	if got := hs.cmd("DELE x"); !strings.HasPrefix(got, "421 ") {
		t.Fatalf("DELE: %q", got)
	}
	hs.waitEnd()
}

func TestSessionPolicyAnswers(t *testing.T) {
	pol := &fakePolicy{answers: map[string]policy.Verdict{
		"PWD257":  {Kind: policy.Change, Code: 257, Text: `"/" is your directory.`},
		"SYST215": {Kind: policy.Reject, Code: 500, Text: "Error parsing answer"},
		"PASV227": {Kind: policy.Reject, Code: 500, Text: "Error parsing answer"},
	}, addFeat: "XGATE"}
	hs := newHarnessPolicy(t, pol, func(c *ftptest.Conn, line string) {
		switch line {
		case "PWD":
			c.Reply(`257 "/home/secret/alice" is the current directory`)
		case "SYST":
			c.Reply("215 UNIX Type: L8")
		case "PASV":
			c.Reply(pasvText(loop, 40000))
		case "FEAT":
			c.Reply("211-Features:", " AUTH TLS", " EPSV", " MODE Z", " PBSZ", " UTF8", "211 End")
		}
	})
	if got := hs.cmd("PWD"); got != `257 "/" is your directory.` {
		t.Fatalf("PWD: %q", got)
	}
	if got := hs.cmd("SYST"); got != "500 Error parsing answer" {
		t.Fatalf("SYST: %q", got)
	}
	if got := hs.cmd("PASV"); got != "500 Error parsing answer" {
		t.Fatalf("PASV: %q", got)
	}
	if els := hs.elements(); els != "" {
		t.Fatalf("a refused 227 opened %s", els)
	}
	hs.send("FEAT")
	var feat []string
	for {
		l := hs.readReply()
		feat = append(feat, l)
		if strings.HasPrefix(l, "211 ") {
			break
		}
	}
	if got, want := strings.Join(feat, "|"), "211-Features:| EPSV| UTF8| XGATE|211 End"; got != want {
		t.Fatalf("FEAT %q, want %q", got, want)
	}
}

// TestSessionStateFromPolicy: the policy session is the one owner of the login and the
// restart offset; the session's transfer records take both from it (the offset only for the
// verbs that restart).
func TestSessionStateFromPolicy(t *testing.T) {
	pol := &fakePolicy{user: "carol", offset: 4096}
	hs := newHarnessPolicy(t, pol, func(c *ftptest.Conn, line string) {
		switch line {
		case "USER mallory":
			c.Reply("331 Password please.")
		case "REST 100":
			c.Reply("350 Restarting.")
		default:
			c.Reply("550 No such file.")
		}
	})
	for _, line := range []string{"USER mallory", "REST 100", "RETR f", "LIST"} {
		hs.cmd(line)
	}
	var recs []map[string]any
	for i := 0; i < 100 && len(recs) < 2; i++ {
		recs = hs.logs.records("transfer")
		time.Sleep(20 * time.Millisecond)
	}
	if len(recs) != 2 {
		t.Fatalf("%d transfer records, want 2", len(recs))
	}
	for i, want := range []float64{4096, 0} {
		if recs[i]["user"] != "carol" || recs[i]["rest"] != want {
			t.Errorf("record %d: user %v rest %v; want the policy session's user carol and rest %v", i, recs[i]["user"], recs[i]["rest"], want)
		}
	}
}
