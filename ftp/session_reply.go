package ftp

import (
	"context"

	"github.com/ftpgate/ftpgate/wire"
)

// handleReply processes one server reply and passes it (or what replaces it) to the client,
// followed by any of ftpgate's own replies that were waiting behind it. It reports true when
// the session is over.
func (s *Session) handleReply(ctx context.Context, r wire.Reply) bool {
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
	cmd, x, hook := head.cmd, head.xfer, head.hook
	s.pending = s.pending[1:]
	if x != nil {
		s.finishTransfer(x, r.Code)
	}
	outp := &out
	if asIs {
		if hook != nil {
			outp = hook(r)
		} else {
			out = s.onFinal(cmd, r)
		}
	}
	if outp != nil {
		s.writeClient(*outp)
	}
	if verb == "Null" && r.Code == 220 && asIs && s.cfg.TLS != nil && s.cfg.TLS.Server == "required" && !s.cfg.TLS.Implicit {
		s.requireServerTLS(ctx)
	}
	for len(s.pending) > 0 && s.pending[0].local != nil {
		s.writeClient(*s.pending[0].local)
		s.pending = s.pending[1:]
	}
	return abort || cmd.Verb == "QUIT" && r.Code/100 == 2
}

// onFinal acts on the final reply r to cmd, which the policy accepted, and returns the reply
// the client gets.
func (s *Session) onFinal(cmd wire.Command, r wire.Reply) wire.Reply {
	switch {
	case cmd.Verb == "FEAT" && r.Code == 211:
		return s.filterFeatures(r)
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
