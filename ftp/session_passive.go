package ftp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"
)

// handlePassive serves a client's PASV or EPSV: toward a passive server it is forwarded and
// the server's 227/229 opens the channel; toward an active server (data_mode active) ftpgate
// sends PORT/EPRT itself and answers the client with its own 227/229.
func (s *Session) handlePassive(ctx context.Context, cmd wire.Command) error {
	s.dc.Supersede()
	if s.cfg.DataMode == policy.DataActive {
		return s.passiveViaActive(ctx, cmd)
	}
	return s.forwardHook(cmd, func(r wire.Reply) *wire.Reply { return s.onPassiveReply(ctx, cmd.Verb, cmd.Verb, r) })
}

// errNotPassive: the reply is not the 227/229 that answers the PASV/EPSV sent.
var errNotPassive = errors.New("ftp: not a passive mode reply")

// passiveRefusal is why a 227/229 is refused, with the log attributes that show it.
type passiveRefusal struct {
	why   string
	attrs []any
}

// Error returns why the reply was refused.
func (e *passiveRefusal) Error() string { return e.why }

// passiveTarget checks the server's answer r to the PASV or EPSV ftpgate sent (verb) and
// returns where the server listens: the address must be the server's own (pasv_address
// rewrite replaces a foreign one: rewritten is then set) and the port 1024 or above. It
// returns errNotPassive for any other reply, and a *passiveRefusal naming what is wrong.
// This is the one check of a 227/229, whichever mode the channel is in.
func (s *Session) passiveTarget(verb string, r wire.Reply) (target netip.AddrPort, rewritten bool, err error) {
	server := s.serverAddr.Addr()
	var ap netip.AddrPort
	switch {
	case verb == "PASV" && r.Code == wire.CodePassive:
		ap, err = wire.ParsePASVReply(r.Text())
	case verb == "EPSV" && r.Code == wire.CodeExtendedPassive:
		var port uint16
		port, err = wire.ParseEPSVReply(r.Text())
		ap = netip.AddrPortFrom(server, port)
	default:
		return ap, false, errNotPassive
	}
	if err != nil {
		return ap, false, &passiveRefusal{"invalid reply from server", []any{"err", err.Error()}}
	}
	if a := ap.Addr().Unmap(); a != server {
		if !s.cfg.PasvRewrite {
			return ap, false, &passiveRefusal{"server announced a foreign address", []any{"announced", a.String(), "server", server.String()}}
		}
		s.log.Warn("passive reply names a foreign address; rewritten to the server's own", "announced", a.String(), "server", server.String())
		rewritten = true
	}
	if ap.Port() < 1024 {
		return ap, false, &passiveRefusal{"server announced a privileged port", []any{"port", ap.Port()}}
	}
	return netip.AddrPortFrom(server, ap.Port()), rewritten, nil
}

// refusePassive logs why the 227/229 r was refused and returns the client's 425.
func (s *Session) refusePassive(r wire.Reply, err error) *wire.Reply {
	why := s.logPassiveRefusal(r, err)
	out := wire.NewReply(wire.CodeCannotOpenData, "Cannot open data connection: "+why+".")
	return &out
}

// logPassiveRefusal logs why the 227/229 r was refused and returns the reason.
func (s *Session) logPassiveRefusal(r wire.Reply, err error) string {
	var pr *passiveRefusal
	if !errors.As(err, &pr) {
		pr = &passiveRefusal{why: err.Error()}
	}
	s.log.Warn("passive reply refused: "+pr.why, append(pr.attrs, "text", r.Text())...)
	return pr.why
}

// onPassiveReply handles the server's reply to a PASV/EPSV (sent) made for the client's
// PASV/EPSV (want): it checks the announced address, opens the channel and answers the
// client. A server that refuses EPSV is asked again with PASV.
func (s *Session) onPassiveReply(ctx context.Context, want, sent string, r wire.Reply) *wire.Reply {
	if sent == "EPSV" && wire.Class(r.Code) == 5 && r.Code != wire.CodeNoProtocol && s.clientAddr.Addr().Is4() {
		return s.retryPASV(ctx, want, r)
	}
	target, rewritten, err := s.passiveTarget(sent, r)
	switch {
	case errors.Is(err, errNotPassive):
		return &r
	case err != nil:
		return s.refusePassive(r, err)
	}
	spec := datachan.Spec{
		Client:  datachan.Leg{Listen: true, Expect: nft.Element{Src: s.clientAddr.Addr(), Dst: target.Addr(), Port: target.Port()}},
		Server:  datachan.Leg{To: target, From: s.serverFrom()},
		Command: want,
	}
	proxy := spec
	if !rewritten && s.kernelPath() {
		// client -> server:port, straight through the box
		spec = kernelSpec(kpath.Pinhole{Src: s.clientAddr.Addr(), Dst: target.Addr(), Port: target.Port()}, true)
	}
	if _, err := s.openPath(ctx, spec, proxy); err != nil {
		return s.refusePassive(r, &passiveRefusal{"cannot install expectation", []any{"err", err.Error()}})
	}
	if want == sent && !rewritten {
		return &r
	}
	out := s.passiveAnswer(want, target.Port())
	return &out
}

// retryPASV asks a server that refused EPSV (r) again with PASV, when nothing else is owed a
// reply; otherwise the client gets the refusal.
func (s *Session) retryPASV(ctx context.Context, want string, r wire.Reply) *wire.Reply {
	retry := pendingCmd{cmd: wire.Command{Verb: "PASV"}, hook: func(r wire.Reply) *wire.Reply { return s.onPassiveReply(ctx, want, "PASV", r) }}
	sent, err := s.send(retry, true)
	if !sent {
		return &r // other commands are in flight: no safe place for a retry
	}
	s.log.Info("server refused EPSV; retrying with PASV", "reply", r.Code)
	if err != nil {
		s.log.Warn("retry with PASV", "err", err.Error())
		out := wire.NewReply(wire.CodeCannotOpenData, "Cannot open data connection.")
		return &out
	}
	return nil
}

// passiveViaActive answers a client's PASV/EPSV toward an active server: both legs listen.
func (s *Session) passiveViaActive(ctx context.Context, cmd wire.Command) error {
	x, err := s.serverListenAddr()
	if err != nil {
		s.reply(s.cannotOpen(err))
		return nil
	}
	ports, err := s.dc.Reserve(2)
	if err != nil {
		s.reply(s.cannotOpen(err))
		return nil
	}
	ch, err := s.openChannel(ctx, datachan.Spec{
		Client:  datachan.Leg{Listen: true, Expect: nft.Element{Src: s.clientAddr.Addr(), Dst: s.serverAddr.Addr(), Port: ports[0]}},
		Server:  datachan.Leg{Listen: true, Expect: nft.Element{Src: s.serverAddr.Addr(), Dst: x, Port: ports[1]}},
		Ports:   ports,
		Command: cmd.Verb,
	})
	if err != nil {
		s.reply(s.cannotOpen(err))
		return nil
	}
	return s.forwardHook(activeCommand(netip.AddrPortFrom(x, ports[1])), func(r wire.Reply) *wire.Reply {
		if !wire.Positive(r.Code) {
			ch.Close(fmt.Errorf("ftp: server refused %d %s", r.Code, r.Text()))
			out := wire.NewReply(wire.CodeCannotOpenData, "Cannot open data connection.")
			return &out
		}
		out := s.passiveAnswer(cmd.Verb, ports[0])
		return &out
	})
}
