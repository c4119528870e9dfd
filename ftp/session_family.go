package ftp

import (
	"errors"
	"strconv"

	"github.com/ftpgate/ftpgate/wire"
)

// protoOf is the RFC 2428 network protocol number of the control connection: 1 for IPv4,
// 2 for IPv6.
func (s *Session) protoOf() int {
	if s.clientAddr.Addr().Is4() {
		return 1
	}
	return 2
}

// noProtocol is the 522 reply to a data command for the other network protocol.
func (s *Session) noProtocol() wire.Reply {
	return wire.NewReply(wire.CodeNoProtocol, "Network protocol not supported, use ("+strconv.Itoa(s.protoOf())+").")
}

// checkDataCommand applies RFC 2428 to a data connection set-up command before anything else
// looks at it: PASV and PORT carry IPv4 addresses only, EPSV names the control connection's
// network protocol, and after EPSV ALL only EPSV may set up a data connection. It returns the
// refusal to give, or ok.
func (s *Session) checkDataCommand(cmd wire.Command) (refusal wire.Reply, why string, ok bool) {
	unsupported := s.noProtocol()
	s.mu.Lock()
	epsvAll := s.epsvAll
	s.mu.Unlock()
	switch cmd.Verb {
	case "PASV", "PORT", "EPRT":
		if epsvAll {
			return wire.NewReply(wire.CodeBadSequence, "EPSV ALL is in effect: use EPSV."), "data command after EPSV ALL", false
		}
		if cmd.Verb != "EPRT" && s.protoOf() == 2 {
			return unsupported, cmd.Verb + " on an IPv6 control connection", false
		}
	case "EPSV":
		switch a, err := wire.ParseEPSVArg(cmd.Arg); {
		case errors.Is(err, wire.ErrProtocol):
			return unsupported, "EPSV for an unknown network protocol", false
		case err != nil:
			return wire.NewReply(wire.CodeArgSyntax, "EPSV takes 1, 2 or ALL."), "bad EPSV argument", false
		case a.All:
			s.mu.Lock()
			s.epsvAll = true
			s.mu.Unlock()
		case a.Proto != 0 && a.Proto != s.protoOf():
			return unsupported, "EPSV for the other network protocol", false
		}
	}
	return wire.Reply{}, "", true
}
