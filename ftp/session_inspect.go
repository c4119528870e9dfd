package ftp

import (
	"errors"
	"strings"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/wire"
)

// errRestInspected closes the channel of a restarted transfer that inspection refused.
var errRestInspected = errors.New("ftp: restarted transfer refused: it cannot be inspected whole")

// inspectTransfer prepares the hooks of transfer x: the channel learns the object's
// metadata. Under inspect mode a REST offset is refused when the policy says so
// (inspect.rest: refuse, the default): the client gets 504, and the REST the server holds
// for its next transfer is cleared with a REST 0 whose reply nobody sees. It reports whether
// the transfer goes on.
func (s *Session) inspectTransfer(x *transfer) (bool, error) {
	mode := s.cfg.Inspect.For(x.dir == wire.Upload)
	if mode == inspect.ModeNone || (x.dir != wire.Upload && x.dir != wire.Download) {
		return true, nil
	}
	if x.rest > 0 && mode == inspect.ModeInspect && s.cfg.Inspect.Rest == inspect.RestRefuse {
		if x.data != nil {
			x.data.Close(errRestInspected)
		}
		s.refuse("restarted transfer under inspection (inspect.rest: refuse)",
			wire.NewReply(wire.CodeNotForParameter, "Restarted transfers are not allowed here: they cannot be inspected whole."),
			"command", x.cmd.Verb, "rest", x.rest)
		rest0 := wire.Command{Verb: "REST", Arg: "0"}
		s.pmu.Lock()
		s.pol.Sent(rest0.Verb, rest0.Arg)
		s.pmu.Unlock()
		return false, s.forwardHook(rest0, func(wire.Reply) *wire.Reply { return nil })
	}
	if x.data == nil {
		return true, nil
	}
	x.data.SetObject(inspect.Object{Session: s.ID, Command: x.cmd.Verb, Arg: x.cmd.Arg, Rest: x.rest,
		Type: x.typ, User: x.user, Client: s.clientAddr, Server: s.serverAddr, Upload: x.dir == wire.Upload})
	return true, nil
}

// inspectionRefusal is the reply the client gets instead of the server's final reply when
// a hook refused the transfer's object: 426 (the data connection was reset).
func inspectionRefusal(res datachan.Result) (wire.Reply, bool) {
	if !res.Refused {
		return wire.Reply{}, false
	}
	return wire.NewReply(wire.CodeTransferAborted, "Transfer refused by inspection: "+verdictText(res.Verdicts)+"."), true
}

// verdictText names the verdict that decided: the last one (the first refusal ends a run).
func verdictText(vs []inspect.Verdict) string {
	if len(vs) == 0 {
		return "refused"
	}
	v := vs[len(vs)-1]
	text := v.Hook
	if v.Reason != "" {
		text += ": " + v.Reason
	}
	if v.Failed {
		text += " (the hook failed; inspect.fail: closed)"
	}
	return strings.Map(func(r rune) rune { // a reply line carries no line break
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, text)
}
