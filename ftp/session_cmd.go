package ftp

import (
	"context"
	"fmt"
	"net"

	"github.com/ftpgate/ftpgate/wire"

	"golang.org/x/sys/unix"
)

// handleCommand decides what happens to one client command. An error ends the session.
func (s *Session) handleCommand(ctx context.Context, cmd wire.Command) error {
	verb, _ := wire.Lookup(cmd.Verb)
	if !s.securityGate(verb) || !s.protGate(verb) {
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
		if a, _ := wire.ParseEPSVArg(cmd.Arg); !a.All {
			return s.handlePassive(ctx, cmd)
		}
		// EPSV ALL opens no data channel: it only forbids the other data commands from now on.
	case "AUTH", "ADAT", "CCC", "CONF", "ENC", "MIC", "PBSZ", "PROT":
		return s.handleSecurity(ctx, cmd)
	default:
		if !s.checkCommand(cmd) {
			return nil
		}
	}
	if verb.Transfer == wire.NoData {
		return s.forward(cmd, nil)
	}
	return s.startTransfer(cmd, verb)
}

// checkCommand applies the session's own rules to the commands that set no data channel up:
// ABOR closes the transfer's data legs, REIN is refused under TLS, REST needs an offset. It
// reports whether the command goes on to the server.
func (s *Session) checkCommand(cmd wire.Command) bool {
	switch cmd.Verb {
	case "ABOR":
		// The transfer's data legs close now; the server's 426/226 (or 225) follow in order.
		s.dc.Abort()
	case "REIN":
		if c, sv := s.tlsLegs(); c || sv {
			s.refuse("REIN on a TLS connection", wire.NewReply(wire.CodeNotImplemented, "REIN is not available on a protected connection."))
			return false
		}
	case "REST":
		// The policy session tracks the offset; a session without a policy still refuses
		// what is not one.
		if _, err := wire.ParseREST(cmd.Arg); err != nil {
			s.refuse("bad REST offset", wire.NewReply(wire.CodeArgSyntax, "REST needs a non-negative byte offset."), "arg", cmd.Arg)
			return false
		}
	}
	return true
}

// startTransfer forwards a transfer command with its record, then lets its data channel
// connect the legs that connect.
func (s *Session) startTransfer(cmd wire.Command, verb wire.Verb) error {
	x := s.beginTransfer(cmd, verb)
	if ref, refused := dataRefusal(x); refused {
		// The data connection's TLS was refused before the command came (clients handshake
		// right after connecting): the server is not asked to wait for a connection that
		// will never come.
		s.refuse("transfer on a refused data connection", ref, "command", cmd.Verb)
		return nil
	}
	if ok, err := s.inspectTransfer(x); !ok || err != nil {
		return err
	}
	if s.holdsUpload(x) {
		s.holdUpload(x)
		return nil
	}
	if err := s.forward(cmd, x); err != nil {
		return err
	}
	if x.data != nil {
		x.data.Activate(verb.Transfer)
	}
	return nil
}

// sendAbort sends ABOR the way RFC 959 asks: Telnet IP, then Telnet Synch (IAC as normal data
// and DM as urgent data), then the command.
func (s *Session) sendAbort(cmd wire.Command) error {
	if s.sio != net.Conn(s.server) {
		// Under TLS there is no urgent data: the Telnet signals go in band (RFC 4217).
		if err := s.writeServer(append([]byte{0xff, 0xf4, 0xff, 0xf2}, cmd.Bytes()...)); err != nil {
			return fmt.Errorf("ftp: write abort: %w", err)
		}
		return nil
	}
	if err := s.writeServer([]byte{0xff, 0xf4, 0xff}); err != nil {
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
	if err := s.writeServer(cmd.Bytes()); err != nil {
		return fmt.Errorf("ftp: write command: %w", err)
	}
	return nil
}
