package ftp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/policy"
)

func TestTransferResult(t *testing.T) {
	x := &transfer{}
	for _, c := range []struct {
		code, client int
		res          datachan.Result
		want         string
	}{
		{226, 226, datachan.Result{}, metrics.ResultComplete},
		{226, 226, datachan.Result{Err: errors.New("reset")}, metrics.ResultFailed},
		{226, 550, datachan.Result{Refused: true}, metrics.ResultRefused},
		{426, 426, datachan.Result{}, metrics.ResultAborted},
		{0, 0, datachan.Result{}, metrics.ResultAborted},
		{550, 550, datachan.Result{}, metrics.ResultFailed},
	} {
		if got := transferResult(x, c.code, c.client, c.res); got != c.want {
			t.Errorf("reply %d/%d %+v: %s, want %s", c.code, c.client, c.res, got, c.want)
		}
	}
	for _, c := range []struct {
		allow, failed bool
		want          string
	}{{true, false, metrics.HookAllow}, {false, false, metrics.HookRefuse}, {true, true, metrics.HookFailed}} {
		if got := hookOutcome(c.allow, c.failed); got != c.want {
			t.Errorf("allow %v failed %v: %s, want %s", c.allow, c.failed, got, c.want)
		}
	}
}

// TestSessionMetricsVerdicts: the session counts the policy's verdicts on commands and
// answers, and the callback failures among them.
func TestSessionMetricsVerdicts(t *testing.T) {
	m := metrics.New()
	pol := &fakePolicy{
		commands: map[string]policy.Verdict{
			"STOR": {Kind: policy.Reject, Code: 553, Text: "No uploads."},
			"CWD":  {Kind: policy.Reject, Code: 550, Text: "Policy error.", CallbackError: true},
		},
		answers: map[string]policy.Verdict{"PWD257": {Kind: policy.Change, Code: 257, Text: `"/" hidden.`}},
	}
	hs := newHarnessFull(t, 30*time.Second, Config{Metrics: m}, pol, func(c *ftptest.Conn, line string) {
		if line == "PWD" {
			c.Reply(`257 "/home/alice"`)
			return
		}
		c.Reply("200 Ok.")
	})
	for line, want := range map[string]string{"STOR x": "553 ", "CWD /": "550 ", "PWD": `257 "/" hidden.`, "NOOP": "200 "} {
		if got := hs.cmd(line); !strings.HasPrefix(got, want) {
			t.Fatalf("%s: %q, want %q…", line, got, want)
		}
	}
	want := `
# HELP ftpgate_answers_total Server answers judged by the policy, by verdict (accept, reject, change, abort).
# TYPE ftpgate_answers_total counter
ftpgate_answers_total{verdict="accept"} 2
ftpgate_answers_total{verdict="change"} 1
# HELP ftpgate_commands_total Client commands judged by the policy, by verdict (accept, reject, abort).
# TYPE ftpgate_commands_total counter
ftpgate_commands_total{verdict="accept"} 2
ftpgate_commands_total{verdict="reject"} 2
# HELP ftpgate_policy_callback_errors_total Policy callbacks that failed (error, panic, unusable result), by what they judged (command, answer).
# TYPE ftpgate_policy_callback_errors_total counter
ftpgate_policy_callback_errors_total{kind="command"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"ftpgate_answers_total", "ftpgate_commands_total", "ftpgate_policy_callback_errors_total"); err != nil {
		t.Error(err)
	}
}
