package policy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ftpgate/ftpgate/wire"
)

// Replay runs a transcript through a policy session and writes each verdict to w: how an
// operator tries a policy before deploying it. A transcript has one line per protocol line:
// "C: " and a client command, or "S: " and a server reply line (a multi-line reply is several
// "S: " lines); blank lines and lines starting with "#" are ignored. Server replies answer the
// last client command before them ("Null", the greeting, before the first).
func Replay(ctx context.Context, pol Decider, r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	verb := "Null"
	var server []string // reply lines not yet judged
	flush := func() error {
		if len(server) == 0 {
			return nil
		}
		rr := wire.NewReplyReader(strings.NewReader(strings.Join(server, "\r\n")+"\r\n"), 0, 0)
		for {
			rep, err := rr.ReadReply()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("policy: transcript: server reply %q: %w", strings.Join(server, " / "), err)
			}
			v := pol.Answer(ctx, verb, rep.Code, rep.Text())
			fmt.Fprintf(w, "S: %-40s -> %s\n", rep.Lines[len(rep.Lines)-1], describe(v, true))
		}
		server = server[:0]
		return nil
	}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "", strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "S:"):
			server = append(server, strings.TrimPrefix(strings.TrimPrefix(line, "S:"), " "))
		case strings.HasPrefix(line, "C:"):
			if err := flush(); err != nil {
				return err
			}
			text := strings.TrimPrefix(strings.TrimPrefix(line, "C:"), " ")
			var cmd wire.Command
			if text != "" {
				var err error
				if cmd, err = wire.ParseCommand(text); err != nil {
					fmt.Fprintf(w, "C: %-40s -> 500 (ftpgate: %v)\n", text, err)
					continue
				}
			}
			v := pol.Command(ctx, cmd.Verb, cmd.Arg)
			shown := text
			if cmd.Sensitive() {
				shown = cmd.Verb + " ****"
			}
			fmt.Fprintf(w, "C: %-40s -> %s\n", shown, describe(v, false))
			verb = cmd.Verb
		default:
			return fmt.Errorf("policy: transcript line %d: want \"C: \" or \"S: \", got %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("policy: transcript: %w", err)
	}
	return flush()
}

// Decider decides on commands and answers: a *Session, or a scripted stand-in in tests.
type Decider interface {
	Command(ctx context.Context, verb, arg string) Verdict
	Answer(ctx context.Context, verb string, code int, text string) Verdict
}

// describe renders a verdict for Replay.
func describe(v Verdict, answer bool) string {
	var s string
	switch v.Kind {
	case Accept:
		s = "accept"
	case Reject:
		if answer {
			s = fmt.Sprintf("deny: client gets %d %s", v.Code, v.Text)
		} else {
			s = fmt.Sprintf("reject: %d %s", v.Code, v.Text)
		}
	case Change:
		s = fmt.Sprintf("change: %d %s", v.Code, v.Text)
	case Abort:
		s = "abort: session closed"
	}
	if v.WouldRefuse {
		s += " (would be refused: " + v.Reason + ")"
	} else if v.Reason != "" && v.Kind != Accept {
		s += " (" + v.Reason + ")"
	}
	return s
}
