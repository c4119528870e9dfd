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

// handleActive checks a PORT or EPRT: the address must be the client's own and the port 1024
// or above; then openActive sets the channel up.
func (s *Session) handleActive(ctx context.Context, cmd wire.Command) error {
	var (
		ap  netip.AddrPort
		err error
	)
	if cmd.Verb == "PORT" {
		ap, err = wire.ParsePORT(cmd.Arg)
	} else {
		ap, err = wire.ParseEPRT(cmd.Arg)
	}
	switch {
	case err != nil:
		s.refuse("bad "+cmd.Verb+" argument", wire.NewReply(wire.CodeArgSyntax, "Syntax error in "+cmd.Verb+" argument."), "arg", cmd.Arg, "err", err.Error())
	case ap.Addr().Is4() != s.clientAddr.Addr().Is4():
		s.refuse("EPRT for the other network protocol", s.noProtocol(), "arg", cmd.Arg)
	case ap.Addr().Unmap() != s.clientAddr.Addr():
		s.refuse(cmd.Verb+" names a host other than the client", wire.NewReply(wire.CodeArgSyntax, cmd.Verb+" address must be your own."),
			"arg", cmd.Arg, "client", s.clientAddr.Addr().String())
	case ap.Port() < 1024:
		s.refuse(cmd.Verb+" names a privileged port", wire.NewReply(wire.CodeArgSyntax, cmd.Verb+" port must be 1024 or above."), "arg", cmd.Arg)
	default:
		return s.openActive(ctx, cmd, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	return nil
}

// openActive serves a client's PORT/EPRT to client:port, already checked: toward an active
// server the command goes on (rewritten when the server leg is not the client's own address);
// toward a passive server (data_mode passive) ftpgate sends PASV/EPSV itself and answers the
// client's PORT/EPRT. The client leg always connects from the server's address.
func (s *Session) openActive(ctx context.Context, cmd wire.Command, client netip.AddrPort) error {
	s.dc.Supersede()
	clientLeg := datachan.Leg{To: client, From: s.serverAddr.Addr(), FromPort: s.cfg.ActiveSourcePort}
	if s.cfg.DataMode == policy.DataPassive {
		return s.activeViaPassive(ctx, cmd, clientLeg)
	}
	x, err := s.serverListenAddr()
	if err != nil {
		s.reply(s.cannotOpen(err))
		return nil
	}
	out, port := cmd, client.Port()
	// The expectation exists before the server reads the command: it may connect early.
	if x == client.Addr() && s.cfg.ActiveSourcePort == 0 && s.kernelPath() {
		// server -> client:port, straight through the box; the command goes on as it is
		return s.sendActive(ctx, out, kernelSpec(kpath.Pinhole{Src: s.serverAddr.Addr(), Dst: client.Addr(), Port: client.Port()}, false),
			datachan.Spec{Client: clientLeg, Server: datachan.Leg{Listen: true, Expect: nft.Element{Src: s.serverAddr.Addr(), Dst: x, Port: port}}, Command: cmd.Verb})
	}
	var ports []uint16
	if x != client.Addr() {
		if ports, err = s.dc.Reserve(1); err != nil {
			s.reply(s.cannotOpen(err))
			return nil
		}
		port = ports[0]
		out = activeCommand(netip.AddrPortFrom(x, port))
	}
	sp := datachan.Spec{
		Client:  clientLeg,
		Server:  datachan.Leg{Listen: true, Expect: nft.Element{Src: s.serverAddr.Addr(), Dst: x, Port: port}},
		Ports:   ports,
		Command: cmd.Verb,
	}
	return s.sendActive(ctx, out, sp, sp)
}

// sendActive opens the channel sp (or proxy instead, see openPath), then sends the PORT/EPRT
// out; a server that refuses it closes the channel.
func (s *Session) sendActive(ctx context.Context, out wire.Command, sp, proxy datachan.Spec) error {
	ch, err := s.openPath(ctx, sp, proxy)
	if err != nil {
		s.reply(s.cannotOpen(err))
		return nil
	}
	return s.forwardHook(out, func(r wire.Reply) *wire.Reply {
		if !wire.Positive(r.Code) {
			ch.Close(fmt.Errorf("ftp: server refused %d %s", r.Code, r.Text()))
		}
		return &r
	})
}

// activeViaPassive serves a client's PORT/EPRT toward a passive server (data_mode passive):
// ftpgate sends PASV (EPSV on IPv6) and answers the client's command itself once the server's
// 227/229 passed the same check as any other.
func (s *Session) activeViaPassive(ctx context.Context, cmd wire.Command, clientLeg datachan.Leg) error {
	verb := "PASV"
	if !s.clientAddr.Addr().Is4() {
		verb = "EPSV"
	}
	return s.forwardHook(wire.Command{Verb: verb}, func(r wire.Reply) *wire.Reply {
		target, _, err := s.passiveTarget(verb, r)
		if err != nil {
			if !errors.Is(err, errNotPassive) {
				s.logPassiveRefusal(r, err)
			}
			out := wire.NewReply(wire.CodeSyntaxError, "Cannot set up the data connection: the server refused passive mode.")
			return &out
		}
		if _, err := s.openChannel(ctx, datachan.Spec{Client: clientLeg, Server: datachan.Leg{To: target, From: s.serverFrom()}}); err != nil {
			out := s.cannotOpen(err)
			return &out
		}
		out := wire.NewReply(wire.CodeOK, cmd.Verb+" command successful.")
		return &out
	})
}
