package ftp

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/datachan"
)

// DataMode is Zorp's data_mode: how ftpgate sets up the server's side of a data channel.
type DataMode string

// The data modes.
const (
	DataKeep    DataMode = "keep"    // as the client does (default)
	DataPassive DataMode = "passive" // always PASV/EPSV toward the server
	DataActive  DataMode = "active"  // always PORT/EPRT toward the server
)

// PortAllocator hands out data ports without collisions across sessions. datachan.Ports
// implements it.
type PortAllocator interface {
	Reserve() (uint16, error)
	Release(port uint16)
}

// replyHook turns the server's final reply to a command into the client's reply; nil means
// the client gets nothing now (a follow-up command will answer it).
type replyHook func(r wire.Reply) *wire.Reply

// supersede ends the data channel a previous PASV/PORT negotiated and no transfer used yet.
func (s *Session) supersede() {
	s.mu.Lock()
	old := s.cur
	s.cur = nil
	s.mu.Unlock()
	if old != nil {
		old.close(errChannelClosed)
	}
}

// setChannel makes ch the channel the next transfer command uses.
func (s *Session) setChannel(ch *dataChannel) {
	s.mu.Lock()
	s.cur = ch
	s.mu.Unlock()
}

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

// reserve takes n ports from the allocator.
func (s *Session) reserve(n int) ([]uint16, error) {
	if s.cfg.Ports == nil {
		return nil, fmt.Errorf("ftp: no data port range configured")
	}
	var ports []uint16
	for i := 0; i < n; i++ {
		p, err := s.cfg.Ports.Reserve()
		if err != nil {
			for _, q := range ports {
				s.cfg.Ports.Release(q)
			}
			return nil, fmt.Errorf("ftp: reserve data port: %w", err)
		}
		ports = append(ports, p)
	}
	return ports, nil
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
	s.supersede()
	if s.cfg.DataMode == DataActive {
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
		if len(s.pending) > 0 {
			return &r // other commands are in flight: no safe place for a retry
		}
		s.log.Info("server refused EPSV; retrying with PASV", "reply", r.Code)
		if err := s.forwardLocked(wire.Command{Verb: "PASV"}, nil, func(r wire.Reply) *wire.Reply { return s.onPassiveReply(ctx, want, "PASV", r) }); err != nil {
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
	ch := s.newChannel(ctx,
		leg{listen: true, key: datachan.Key{Src: s.clientAddr.Addr(), Dst: server, Port: ap.Port()}},
		leg{to: target, from: s.serverFrom()})
	if err := ch.open(); err != nil {
		return fail("cannot install expectation", "err", err.Error())
	}
	s.setChannel(ch)
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
	ports, err := s.reserve(2)
	if err != nil {
		return refuse(err)
	}
	ch := s.newChannel(ctx,
		leg{listen: true, key: datachan.Key{Src: s.clientAddr.Addr(), Dst: s.serverAddr.Addr(), Port: ports[0]}},
		leg{listen: true, key: datachan.Key{Src: s.serverAddr.Addr(), Dst: x, Port: ports[1]}})
	ch.ports = ports
	if err := ch.open(); err != nil {
		return refuse(err)
	}
	s.setChannel(ch)
	return s.forwardHook(activeCommand(netip.AddrPortFrom(x, ports[1])), func(r wire.Reply) *wire.Reply {
		if r.Code/100 != 2 {
			ch.close(fmt.Errorf("ftp: server refused %d %s", r.Code, r.Text()))
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
	s.supersede()
	clientLeg := leg{to: client, from: s.serverAddr.Addr(), port: s.cfg.ActiveSourcePort}
	refuse := func(err error) error {
		s.log.Error("open data channel", "err", err.Error())
		s.reply(wire.NewReply(425, "Cannot open data connection."))
		return nil
	}
	if s.cfg.DataMode == DataPassive {
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
			s.setChannel(s.newChannel(ctx, clientLeg, leg{to: ap, from: s.serverFrom()}))
			out := wire.NewReply(200, cmd.Verb+" command successful.")
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
		if ports, err = s.reserve(1); err != nil {
			return refuse(err)
		}
		port = ports[0]
		out = activeCommand(netip.AddrPortFrom(x, port))
	}
	ch := s.newChannel(ctx, clientLeg, leg{listen: true, key: datachan.Key{Src: s.serverAddr.Addr(), Dst: x, Port: port}})
	ch.ports = ports
	// The expectation exists before the server reads the command: it may connect early.
	if err := ch.open(); err != nil {
		return refuse(err)
	}
	s.setChannel(ch)
	return s.forwardHook(out, func(r wire.Reply) *wire.Reply {
		if r.Code/100 != 2 {
			ch.close(fmt.Errorf("ftp: server refused %d %s", r.Code, r.Text()))
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
