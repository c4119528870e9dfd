package ftp

import (
	"context"
	"net/netip"

	"github.com/ftpgate/ftpgate/datachan"
)

// handleReply processes one server reply and passes it (or what replaces it) to the client,
// followed by any of ftpgate's own replies that were waiting behind it. It reports true when
// the session is over.
func (s *Session) handleReply(ctx context.Context, r Reply) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	var head *pendingCmd
	if len(s.pending) > 0 && s.pending[0].local == nil {
		head = &s.pending[0]
	}
	if head == nil {
		// Unsolicited (421 before closing, for example): pass it on.
		s.writeClient(r)
		return r.Code == 421
	}
	verb := head.cmd.Verb
	if verb == "" {
		verb = "Null" // the greeting (Zorp's name for it)
	}
	out, asIs, abort := s.judgeAnswer(ctx, verb, r)
	if r.Preliminary() {
		if head.xfer != nil {
			head.xfer.preliminary(r.Code)
		}
		s.writeClient(out)
		return abort
	}
	cmd, x := head.cmd, head.xfer
	s.pending = s.pending[1:]
	if x != nil {
		s.finishTransfer(x, r.Code)
	}
	if asIs {
		out = s.onFinal(ctx, cmd, r)
	}
	s.writeClient(out)
	for len(s.pending) > 0 && s.pending[0].local != nil {
		s.writeClient(*s.pending[0].local)
		s.pending = s.pending[1:]
	}
	return abort || cmd.Verb == "QUIT" && r.Code/100 == 2
}

// onFinal acts on the final reply r to cmd, which the policy accepted, and returns the reply
// the client gets.
func (s *Session) onFinal(ctx context.Context, cmd Command, r Reply) Reply {
	switch {
	case cmd.Verb == "FEAT" && r.Code == 211:
		return s.filterFeatures(r)
	case cmd.Verb == "PASV" && r.Code == 227:
		ap, err := ParsePASVReply(r.Text())
		if err != nil {
			s.log.Warn("unparsable 227 reply refused", "text", r.Text(), "err", err.Error())
			return NewReply(425, "Cannot open data connection: invalid reply from server.")
		}
		return s.passive(ctx, r, ap.Addr(), ap.Port())
	case cmd.Verb == "EPSV" && r.Code == 229:
		port, err := ParseEPSVReply(r.Text())
		if err != nil {
			s.log.Warn("unparsable 229 reply refused", "text", r.Text(), "err", err.Error())
			return NewReply(425, "Cannot open data connection: invalid reply from server.")
		}
		return s.passive(ctx, r, s.serverAddr.Addr(), port)
	case cmd.Verb == "TYPE" && r.Code/100 == 2:
		s.mu.Lock()
		s.typ = cmd.Arg
		s.mu.Unlock()
	case cmd.Verb == "PASS" && r.Code == 230, cmd.Verb == "USER" && r.Code == 230:
		s.mu.Lock()
		user := s.user
		s.mu.Unlock()
		s.log.Info("login", "user", user)
	}
	return r
}

// passive opens `client . server . port` for a 227/229 reply that announced addr:port, and
// returns the reply to pass on: r itself, or a 425 when the announcement is refused.
func (s *Session) passive(ctx context.Context, r Reply, addr netip.Addr, port uint16) Reply {
	a := s.serverAddr.Addr()
	if addr.Unmap() != a {
		s.log.Warn("passive reply names a host other than the server; refused",
			"announced", addr.String(), "server", a.String(), "text", r.Text())
		return NewReply(425, "Cannot open data connection: server announced a foreign address.")
	}
	if port < 1024 {
		s.log.Warn("passive reply names a privileged port; refused", "port", port)
		return NewReply(425, "Cannot open data connection: server announced a privileged port.")
	}
	k := datachan.Key{Src: s.clientAddr.Addr(), Dst: a, Port: port}
	if err := s.openData(ctx, k, true); err != nil {
		s.log.Error("open data channel", "element", k.String(), "err", err.Error())
		return NewReply(425, "Cannot open data connection.")
	}
	return r
}
