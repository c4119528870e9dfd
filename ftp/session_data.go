package ftp

import (
	"context"
	"fmt"
	"net/netip"

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
		return wire.NewReply(wire.CodePassive, wire.FormatPASVReply(netip.AddrPortFrom(s.serverAddr.Addr(), port)))
	}
	return wire.NewReply(wire.CodeExtendedPassive, wire.FormatEPSVReply(port))
}

// openChannel opens the data channel sp describes, its legs protected as PROT says now.
func (s *Session) openChannel(ctx context.Context, sp datachan.Spec) (*datachan.Channel, error) {
	s.mu.Lock()
	sp.Client.TLS, sp.Server.TLS = s.tls.clientProt, s.tls.serverProt
	s.mu.Unlock()
	return s.dc.Open(ctx, sp)
}

// cannotOpen logs why a data channel could not be set up and is the client's 425.
func (s *Session) cannotOpen(err error) wire.Reply {
	s.log.Error("open data channel", "err", err.Error())
	return wire.NewReply(wire.CodeCannotOpenData, "Cannot open data connection.")
}
