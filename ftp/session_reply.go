package ftp

import (
	"context"

	"github.com/ftpgate/ftpgate/wire"
)

// handleReply processes one server reply and passes it (or what replaces it) to the client,
// followed by any of ftpgate's own replies that were waiting behind it. It reports true when
// the session is over. It runs on the reply loop and holds no lock across its work: the wait
// for a transfer's data, the hooks' netlink calls and TLS handshakes run while the command
// loop goes on (an ABOR reaches the server while a final reply is held back). The command the
// reply answers stays at the head of the queue until its reply is written, so ftpgate's own
// replies to later commands still wait behind it.
func (s *Session) handleReply(ctx context.Context, r wire.Reply) bool {
	head, ok := s.head()
	if !ok {
		// Unsolicited (421 before closing, for example): pass it on.
		s.writeClient(r)
		return r.Code == wire.CodeUnavailable
	}
	verb := head.cmd.Verb
	if verb == "" {
		verb = "Null" // the greeting (Zorp's name for it)
		s.greeting.Stop()
	}
	out, asIs, abort := s.judgeAnswer(ctx, verb, r)
	if r.Preliminary() {
		s.preliminary(head, r, out)
		return abort
	}
	if head.xfer != nil {
		if ref, refused := s.finishTransfer(ctx, head.xfer, r.Code); refused {
			out, asIs = ref, false // ftpgate refused the data connection's TLS
		}
	}
	outp := &out
	if asIs {
		if head.hook != nil {
			outp = head.hook(r)
		} else {
			out = s.onFinal(head.cmd, r)
		}
	}
	if verb == "Null" && r.Code == wire.CodeReady && asIs && s.cfg.TLS.serverRequired() {
		// Before the client sees the greeting, so that none of its commands slips past.
		s.requireServerTLS(ctx)
	}
	s.complete(outp)
	return abort || head.cmd.Verb == "QUIT" && wire.Positive(r.Code)
}

// preliminary passes the server's 1xx reply r to head on to the client (as out, what the
// policy made of it), unless the client had ftpgate's own already (a held upload's), and
// notes it in head's transfer.
func (s *Session) preliminary(head pendingCmd, r, out wire.Reply) {
	if head.xfer != nil {
		head.xfer.preliminary(r.Code)
	}
	if !head.quiet {
		s.writeClient(out)
	}
}

// onFinal acts on the final reply r to cmd, which the policy accepted, and returns the reply
// the client gets.
func (s *Session) onFinal(cmd wire.Command, r wire.Reply) wire.Reply {
	switch {
	case cmd.Verb == "FEAT" && r.Code == wire.CodeFeatures:
		return s.filterFeatures(r)
	case cmd.Verb == "TYPE" && wire.Positive(r.Code):
		s.mu.Lock()
		s.typ = cmd.Arg
		s.mu.Unlock()
	case cmd.Verb == "PASS" && r.Code == wire.CodeLoggedIn, cmd.Verb == "USER" && r.Code == wire.CodeLoggedIn:
		s.loggedIn()
		s.log.Info("login", "user", s.user())
	}
	return r
}
