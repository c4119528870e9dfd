package ftp

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/ftpgate/ftpgate/wire"

	"golang.org/x/sys/unix"
)

// handleCommand decides what happens to one client command. An error ends the session.
func (s *Session) handleCommand(ctx context.Context, cmd wire.Command) error {
	verb, _ := wire.Lookup(cmd.Verb)
	if !s.securityGate(verb) {
		return nil
	}
	if r, why, ok := s.checkDataCommand(cmd); !ok {
		s.refuse(why, r, "arg", cmd.Arg)
		return nil
	}
	switch cmd.Verb {
	case "PORT", "EPRT":
		return s.handleActive(ctx, cmd)
	case "PASV":
		return s.handlePassive(ctx, cmd)
	case "EPSV":
		if a, _ := wire.ParseEPSVArg(cmd.Arg); a.All {
			break // no data channel: it only forbids the other data commands from now on
		}
		return s.handlePassive(ctx, cmd)
	case "ABOR":
		// The transfer's data legs close now; the server's 426/226 (or 225) follow in order.
		s.dc.Abort()
	case "AUTH", "ADAT", "CCC", "CONF", "ENC", "MIC", "PBSZ", "PROT":
		return s.handleSecurity(ctx, cmd)
	case "REIN":
		if c, sv := s.tlsLegs(); c || sv {
			s.refuse("REIN on a TLS connection", wire.NewReply(502, "REIN is not available on a protected connection."))
			return nil
		}
	case "REST":
		// The policy session tracks the offset; a session without a policy still refuses
		// what is not one.
		if _, err := wire.ParseREST(cmd.Arg); err != nil {
			s.refuse("bad REST offset", wire.NewReply(501, "REST needs a non-negative byte offset."), "arg", cmd.Arg)
			return nil
		}
	}
	dir := verb.Transfer
	if dir == wire.NoData {
		return s.forward(cmd, nil)
	}
	x := s.beginTransfer(cmd, verb)
	if err := s.forward(cmd, x); err != nil {
		return err
	}
	if x.data != nil {
		x.data.Activate(dir)
	}
	return nil
}

// handleActive checks a PORT or EPRT: the address must be the client's own and the port 1024
// or above; then openActive sets the channel up.
func (s *Session) handleActive(ctx context.Context, cmd wire.Command) error {
	var (
		ap  = s.clientAddr
		err error
	)
	if cmd.Verb == "PORT" {
		ap, err = wire.ParsePORT(cmd.Arg)
	} else {
		ap, err = wire.ParseEPRT(cmd.Arg)
	}
	if err != nil {
		s.refuse("bad "+cmd.Verb+" argument", wire.NewReply(501, "Syntax error in "+cmd.Verb+" argument."), "arg", cmd.Arg, "err", err.Error())
		return nil
	}
	if ap.Addr().Is4() != s.clientAddr.Addr().Is4() {
		s.refuse("EPRT for the other network protocol", wire.NewReply(522, "Network protocol not supported, use ("+s.protoOf()+")."), "arg", cmd.Arg)
		return nil
	}
	if ap.Addr().Unmap() != s.clientAddr.Addr() {
		s.refuse(cmd.Verb+" names a host other than the client", wire.NewReply(501, cmd.Verb+" address must be your own."),
			"arg", cmd.Arg, "client", s.clientAddr.Addr().String())
		return nil
	}
	if ap.Port() < 1024 {
		s.refuse(cmd.Verb+" names a privileged port", wire.NewReply(501, cmd.Verb+" port must be 1024 or above."), "arg", cmd.Arg)
		return nil
	}
	return s.openActive(ctx, cmd, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
}

// sendAbort sends ABOR the way RFC 959 asks: Telnet IP, then Telnet Synch (IAC as normal data
// and DM as urgent data), then the command.
func (s *Session) sendAbort(cmd wire.Command) error {
	if s.sio != net.Conn(s.server) {
		// Under TLS there is no urgent data: the Telnet signals go in band (RFC 4217).
		if _, err := s.sio.Write(append([]byte{0xff, 0xf4, 0xff, 0xf2}, cmd.Bytes()...)); err != nil {
			return fmt.Errorf("ftp: write abort: %w", err)
		}
		return nil
	}
	if _, err := s.server.Write([]byte{0xff, 0xf4, 0xff}); err != nil {
		return fmt.Errorf("ftp: write abort: %w", err)
	}
	rc, err := s.server.SyscallConn()
	if err != nil {
		return fmt.Errorf("ftp: write abort: %w", err)
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Send(int(fd), []byte{0xf2}, unix.MSG_OOB)
		return serr != unix.EAGAIN
	}); err != nil {
		return fmt.Errorf("ftp: write abort: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("ftp: write abort: %w", serr)
	}
	if _, err := s.server.Write(cmd.Bytes()); err != nil {
		return fmt.Errorf("ftp: write command: %w", err)
	}
	return nil
}
