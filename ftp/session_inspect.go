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
	if x.data != nil && (x.dir == wire.Upload || x.dir == wire.Download) {
		x.data.SetObject(inspect.Object{Session: s.ID, Command: x.cmd.Verb, Arg: x.cmd.Arg, Rest: x.rest,
			Type: x.typ, User: x.user, Client: s.clientAddr, Server: s.serverAddr, Upload: x.dir == wire.Upload})
	}
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
	return true, nil
}

// inspectionRefusal is the reply the client gets instead of the server's final reply when
// a hook refused the transfer's object: 426 (the data connection was reset).
func inspectionRefusal(res datachan.Result) (wire.Reply, bool) {
	if errors.Is(res.Err, datachan.ErrNotReleased) { // the server's 226 would be for an empty file
		return wire.NewReply(wire.CodeTransferAborted, "Transfer aborted: the upload could not be passed to the server."), true
	}
	if errors.Is(res.Err, datachan.ErrFiltered) {
		reason := strings.TrimPrefix(res.Err.Error(), datachan.ErrFiltered.Error()+": ")
		return wire.NewReply(wire.CodeTransferAborted, "Transfer stopped by the packet filter: "+reason+"."), true
	}
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

// holdsUpload reports whether transfer x is an upload the server must not see before the
// hooks allowed it (upload: inspect).
func (s *Session) holdsUpload(x *transfer) bool {
	return x.data != nil && x.dir == wire.Upload && s.cfg.Inspect.Upload == inspect.ModeInspect
}

// holdUpload runs an inspected upload: the client gets ftpgate's own 150 and sends the
// object, which the channel spools and the hooks judge; only then does the server get the
// transfer command (and the object), or the client 550 and the server nothing: no file is
// created or changed on the server for a refused upload.
func (s *Session) holdUpload(x *transfer) {
	s.reply(wire.NewReply(wire.CodeOpening, "Ok to send data; ftpgate inspects it before the server gets it."))
	x.data.ActivateHeld(func(allowed bool, err error) { s.uploadJudged(x, allowed, err) })
}

// uploadJudged goes on with a held upload once the hooks judged it (or the client's upload
// failed, err): the transfer command goes to the server, its 150 kept from the client, and
// the channel releases the object; or the client gets the refusal as the final reply.
func (s *Session) uploadJudged(x *transfer, allowed bool, err error) {
	if allowed {
		if _, serr := s.send(pendingCmd{cmd: x.cmd, xfer: x, quiet: true}, false); serr != nil {
			s.log.Warn("held upload: cannot send the transfer command", "err", serr.Error())
			return
		}
		x.data.Release()
		return
	}
	r := wire.NewReply(wire.CodeFileUnavailable, "Upload refused by inspection: "+verdictText(x.data.Result().Verdicts)+".")
	if err != nil && !errors.Is(err, datachan.ErrRefused) {
		r = wire.NewReply(wire.CodeTransferAborted, "Connection closed; transfer aborted.")
	}
	s.log.Warn("held upload not passed to the server", "command", x.cmd.Verb, "arg", x.cmd.Arg, "reply", r.Code)
	s.reply(r)
	s.logTransfer(x, r.Code, r.Code)
}
