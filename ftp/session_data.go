package ftp

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/datachan"
)

// serverFrom is the address the server leg connects from: the client's own (spoofing) or
// the box's own (invalid: the kernel picks it).
func (s *Session) serverFrom() netip.Addr {
	switch {
	case s.cfg.Spoof:
		return s.clientAddr.Addr()
	case s.boxAddr().IsValid():
		return s.boxAddr()
	}
	return netip.Addr{}
}

// boxAddr is the configured box address if it is of the server's family.
func (s *Session) boxAddr() netip.Addr {
	if a := s.cfg.BoxAddr; a.IsValid() && a.Is4() == s.serverAddr.Addr().Is4() {
		return a
	}
	return netip.Addr{}
}

// serverListenAddr is the address a PORT/EPRT toward the server names: the client's own
// (spoofing) or the box's own address toward the server.
func (s *Session) serverListenAddr() (netip.Addr, error) {
	if s.cfg.Spoof {
		return s.clientAddr.Addr(), nil
	}
	if a := s.boxAddr(); a.IsValid() {
		return a, nil
	}
	if s.cfg.BoxSource == nil {
		return netip.Addr{}, fmt.Errorf("ftp: no source address lookup for the box's own address")
	}
	return s.cfg.BoxSource(s.serverAddr.Addr())
}

// activeCommand is the PORT (IPv4) or EPRT (IPv6) naming ap.
func activeCommand(ap netip.AddrPort) wire.Command {
	if ap.Addr().Is4() {
		return wire.Command{Verb: "PORT", Arg: wire.FormatPORT(ap)}
	}
	return wire.Command{Verb: "EPRT", Arg: wire.FormatEPRT(ap)}
}

// passiveAnswer is the client's reply to its PASV (227) or EPSV (229) announcing port on
// the server's address.
func (s *Session) passiveAnswer(verb string, port uint16) wire.Reply {
	if verb == "PASV" {
		return wire.NewReply(227, wire.FormatPASVReply(netip.AddrPortFrom(s.serverAddr.Addr(), port)))
	}
	return wire.NewReply(229, wire.FormatEPSVReply(port))
}

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

// onPassiveReply handles the server's reply to a PASV/EPSV (sent) made for the client's
// PASV/EPSV (want): it checks the announced address, opens the channel and answers the
// client. A server that refuses EPSV is asked again with PASV.
func (s *Session) onPassiveReply(ctx context.Context, want, sent string, r wire.Reply) *wire.Reply {
	var (
		ap  netip.AddrPort
		err error
	)
	switch {
	case sent == "EPSV" && r.Code/100 == 5 && r.Code != 522 && s.clientAddr.Addr().Is4():
		retry := pendingCmd{cmd: wire.Command{Verb: "PASV"}, hook: func(r wire.Reply) *wire.Reply { return s.onPassiveReply(ctx, want, "PASV", r) }}
		sent, err := s.send(retry, true)
		if !sent {
			return &r // other commands are in flight: no safe place for a retry
		}
		s.log.Info("server refused EPSV; retrying with PASV", "reply", r.Code)
		if err != nil {
			s.log.Warn("retry with PASV", "err", err.Error())
			out := wire.NewReply(425, "Cannot open data connection.")
			return &out
		}
		return nil
	case sent == "PASV" && r.Code == 227:
		ap, err = wire.ParsePASVReply(r.Text())
	case sent == "EPSV" && r.Code == 229:
		var port uint16
		port, err = wire.ParseEPSVReply(r.Text())
		ap = netip.AddrPortFrom(s.serverAddr.Addr(), port)
	default:
		return &r
	}
	fail := func(why string, attrs ...any) *wire.Reply {
		s.log.Warn("passive reply refused: "+why, append(attrs, "text", r.Text())...)
		out := wire.NewReply(425, "Cannot open data connection: "+why+".")
		return &out
	}
	if err != nil {
		return fail("invalid reply from server", "err", err.Error())
	}
	server := s.serverAddr.Addr()
	if a := ap.Addr().Unmap(); a != server {
		if !s.cfg.PasvRewrite {
			return fail("server announced a foreign address", "announced", a.String(), "server", server.String())
		}
		s.log.Warn("passive reply names a foreign address; rewritten to the server's own", "announced", a.String(), "server", server.String())
	}
	if ap.Port() < 1024 {
		return fail("server announced a privileged port", "port", ap.Port())
	}
	target := netip.AddrPortFrom(server, ap.Port())
	if _, err := s.openChannel(ctx, datachan.Spec{
		Client: datachan.Leg{Listen: true, Expect: nft.Element{Src: s.clientAddr.Addr(), Dst: server, Port: ap.Port()}},
		Server: datachan.Leg{To: target, From: s.serverFrom()},
	}); err != nil {
		return fail("cannot install expectation", "err", err.Error())
	}
	if want == sent && ap.Addr().Unmap() == server {
		return &r
	}
	out := s.passiveAnswer(want, ap.Port())
	return &out
}

// passiveViaActive answers a client's PASV/EPSV toward an active server: both legs listen.
func (s *Session) passiveViaActive(ctx context.Context, cmd wire.Command) error {
	refuse := func(err error) error {
		s.log.Error("open data channel", "err", err.Error())
		s.reply(wire.NewReply(425, "Cannot open data connection."))
		return nil
	}
	x, err := s.serverListenAddr()
	if err != nil {
		return refuse(err)
	}
	ports, err := s.dc.Reserve(2)
	if err != nil {
		return refuse(err)
	}
	ch, err := s.openChannel(ctx, datachan.Spec{
		Client: datachan.Leg{Listen: true, Expect: nft.Element{Src: s.clientAddr.Addr(), Dst: s.serverAddr.Addr(), Port: ports[0]}},
		Server: datachan.Leg{Listen: true, Expect: nft.Element{Src: s.serverAddr.Addr(), Dst: x, Port: ports[1]}},
		Ports:  ports,
	})
	if err != nil {
		return refuse(err)
	}
	return s.forwardHook(activeCommand(netip.AddrPortFrom(x, ports[1])), func(r wire.Reply) *wire.Reply {
		if !wire.Positive(r.Code) {
			ch.Close(fmt.Errorf("ftp: server refused %d %s", r.Code, r.Text()))
			out := wire.NewReply(425, "Cannot open data connection.")
			return &out
		}
		out := s.passiveAnswer(cmd.Verb, ports[0])
		return &out
	})
}

// openActive serves a client's PORT/EPRT to client:port, already checked: toward an active
// server the command goes on (rewritten when the server leg is not the client's own address);
// toward a passive server (data_mode passive) ftpgate sends PASV/EPSV itself and answers the
// client's PORT/EPRT. The client leg always connects from the server's address.
func (s *Session) openActive(ctx context.Context, cmd wire.Command, client netip.AddrPort) error {
	s.dc.Supersede()
	clientLeg := datachan.Leg{To: client, From: s.serverAddr.Addr(), FromPort: s.cfg.ActiveSourcePort}
	refuse := func(err error) error {
		s.log.Error("open data channel", "err", err.Error())
		s.reply(wire.NewReply(425, "Cannot open data connection."))
		return nil
	}
	if s.cfg.DataMode == policy.DataPassive {
		verb := "PASV"
		if !s.clientAddr.Addr().Is4() {
			verb = "EPSV"
		}
		return s.forwardHook(wire.Command{Verb: verb}, func(r wire.Reply) *wire.Reply {
			ap, ok := s.passiveTarget(verb, r)
			if !ok {
				out := wire.NewReply(500, "Cannot set up the data connection: the server refused passive mode.")
				return &out
			}
			if _, err := s.openChannel(ctx, datachan.Spec{Client: clientLeg, Server: datachan.Leg{To: ap, From: s.serverFrom()}}); err != nil {
				s.log.Error("open data channel", "err", err.Error())
				out := wire.NewReply(wire.CodeCannotOpenData, "Cannot open data connection.")
				return &out
			}
			out := wire.NewReply(wire.CodeOK, cmd.Verb+" command successful.")
			return &out
		})
	}
	x, err := s.serverListenAddr()
	if err != nil {
		return refuse(err)
	}
	out, port := cmd, client.Port()
	var ports []uint16
	if x != client.Addr() {
		if ports, err = s.dc.Reserve(1); err != nil {
			return refuse(err)
		}
		port = ports[0]
		out = activeCommand(netip.AddrPortFrom(x, port))
	}
	// The expectation exists before the server reads the command: it may connect early.
	ch, err := s.openChannel(ctx, datachan.Spec{
		Client: clientLeg,
		Server: datachan.Leg{Listen: true, Expect: nft.Element{Src: s.serverAddr.Addr(), Dst: x, Port: port}},
		Ports:  ports,
	})
	if err != nil {
		return refuse(err)
	}
	return s.forwardHook(out, func(r wire.Reply) *wire.Reply {
		if !wire.Positive(r.Code) {
			ch.Close(fmt.Errorf("ftp: server refused %d %s", r.Code, r.Text()))
		}
		return &r
	})
}

// passiveTarget checks a 227/229 to a PASV/EPSV ftpgate sent itself and returns where to
// connect.
func (s *Session) passiveTarget(verb string, r wire.Reply) (netip.AddrPort, bool) {
	server := s.serverAddr.Addr()
	var ap netip.AddrPort
	switch {
	case verb == "PASV" && r.Code == 227:
		a, err := wire.ParsePASVReply(r.Text())
		if err != nil {
			return ap, false
		}
		if a.Addr().Unmap() != server && !s.cfg.PasvRewrite {
			s.log.Warn("passive reply names a foreign address; refused", "announced", a.Addr().String(), "server", server.String())
			return ap, false
		}
		ap = netip.AddrPortFrom(server, a.Port())
	case verb == "EPSV" && r.Code == 229:
		port, err := wire.ParseEPSVReply(r.Text())
		if err != nil {
			return ap, false
		}
		ap = netip.AddrPortFrom(server, port)
	default:
		return ap, false
	}
	return ap, ap.Port() >= 1024
}

// openChannel opens the data channel sp describes, its legs protected as PROT says now.
func (s *Session) openChannel(ctx context.Context, sp datachan.Spec) (*datachan.Channel, error) {
	s.mu.Lock()
	sp.Client.TLS, sp.Server.TLS = s.tls.clientProt, s.tls.serverProt
	s.mu.Unlock()
	return s.dc.Open(ctx, sp)
}
