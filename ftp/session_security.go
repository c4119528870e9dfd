package ftp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"
)

// securityGate refuses, while the client leg must be TLS and is not yet, everything but the
// commands that lead there.
func (s *Session) securityGate(verb wire.Verb) bool {
	t := s.cfg.TLS
	if t == nil || t.Client != policy.TLSRequired {
		return true
	}
	s.mu.Lock()
	done := s.tls.client != nil || s.tls.cleared
	s.mu.Unlock()
	if done || verb.BeforeTLS {
		return true
	}
	s.refuse("TLS required on the client leg", wire.NewReply(wire.CodeNotLoggedIn, "TLS required: send AUTH TLS first."), "command", verb.Name)
	return false
}

// handleSecurity serves AUTH, PBSZ, PROT, CCC and the other RFC 2228 commands.
func (s *Session) handleSecurity(ctx context.Context, cmd wire.Command) error {
	clientTLS, serverTLS := s.tlsLegs()
	switch cmd.Verb {
	case "AUTH":
		return s.handleAuth(ctx, cmd)
	case "PBSZ":
		if !clientTLS {
			s.refuse("PBSZ without TLS", wire.NewReply(wire.CodeBadSequence, "No security mechanism in use."))
			return nil
		}
		if serverTLS {
			return s.forward(cmd, nil)
		}
		s.reply(wire.NewReply(wire.CodeOK, "PBSZ=0"))
		return nil
	case "PROT":
		if !clientTLS {
			s.refuse("PROT without TLS", wire.NewReply(wire.CodeBadSequence, "No security mechanism in use."))
			return nil
		}
		return s.handleProt(cmd, serverTLS)
	case "CCC":
		switch {
		case !s.cfg.TLS.AllowCCC:
			s.refuse("CCC not allowed", wire.NewReply(wire.CodeTLSRefused, "CCC is not allowed by policy."))
			return nil
		case !clientTLS:
			s.refuse("CCC without TLS", wire.NewReply(wire.CodeCCCRefused, "The control connection is not protected."))
			return nil
		case !s.awaitReplies(ctx):
			s.refuse("CCC behind unanswered commands", wire.NewReply(wire.CodeBadSequence, "Send CCC when all replies have arrived."))
			return nil
		}
		s.writeClient(wire.NewReply(wire.CodeOK, "CCC command successful; the control connection continues in the clear."))
		return s.clearClient()
	default: // ADAT, CONF, ENC, MIC: other mechanisms
		s.refuse("security mechanism not supported", wire.NewReply(wire.CodeNotForParameter, "Only AUTH TLS is supported."), "command", cmd.Verb)
		return nil
	}
}

// handleAuth serves AUTH TLS: the server leg is asked first (when policy lets it be TLS), then
// the client gets 234 and the client leg is upgraded.
func (s *Session) handleAuth(ctx context.Context, cmd wire.Command) error {
	t := s.cfg.TLS
	switch mech := strings.ToUpper(strings.TrimSpace(cmd.Arg)); {
	case mech != "TLS" && mech != "SSL" && mech != "TLS-C":
		s.refuse("AUTH mechanism not supported", wire.NewReply(wire.CodeNotForParameter, "AUTH mechanism not supported; use AUTH TLS."), "arg", cmd.Arg)
		return nil
	case !t.clientOK():
		s.refuse("TLS refused on the client leg", wire.NewReply(wire.CodeTLSRefused, "TLS is not available here."))
		return nil
	}
	clientTLS, serverTLS := s.tlsLegs()
	if clientTLS {
		s.refuse("AUTH on a TLS connection", wire.NewReply(wire.CodeBadSequence, "TLS is already in use."))
		return nil
	}
	// AUTH answers after every reply owed before it (the server leg may still be on its
	// way to TLS on ftpgate's own behalf).
	if !s.awaitReplies(ctx) {
		s.refuse("AUTH behind unanswered commands", wire.NewReply(wire.CodeBadSequence, "Send AUTH when all replies have arrived."))
		return nil
	}
	if _, serverTLS = s.tlsLegs(); serverTLS {
		s.writeClient(wire.NewReply(wire.CodeAuthOK, "AUTH TLS successful."))
		return s.upgradeClient(ctx)
	}
	if t.Server == policy.TLSRefused {
		s.bridge("TLS on the client leg only: the server leg stays plain (tls.server: refused)", 0)
		return s.upgradeClient(ctx)
	}
	err := s.forwardHook(wire.Command{Verb: "AUTH", Arg: "TLS"}, func(r wire.Reply) *wire.Reply {
		return s.authAnswered(ctx, r)
	})
	if err != nil {
		return err
	}
	select {
	case up := <-s.upgrade:
		if !up {
			return nil
		}
	case <-ctx.Done():
		return nil
	}
	return s.upgradeClient(ctx)
}

// authAnswered handles the server's answer r to the client's AUTH TLS, on the reply loop:
// on 234 the server leg is upgraded and the client told to go on; a refusal reaches the
// client unchanged unless tls.server is bridge (then the client's TLS ends at ftpgate). It
// tells the command loop, waiting in handleAuth, whether to upgrade the client leg.
func (s *Session) authAnswered(ctx context.Context, r wire.Reply) *wire.Reply {
	t := s.cfg.TLS
	switch {
	case r.Code == wire.CodeAuthOK:
		if err := s.upgradeServer(ctx); err != nil {
			s.log.Warn("TLS toward the server failed; closing the session", "err", err.Error())
			s.writeClient(wire.NewReply(wire.CodeUntrustedTLS, "Cannot establish a trusted TLS connection to the server: "+reason(err)))
			s.upgrade <- false
			s.cancel()
			return nil
		}
		s.writeClient(wire.NewReply(wire.CodeAuthOK, "AUTH TLS successful."))
	case t.Server == policy.TLSBridge:
		s.bridge("TLS bridge: the server refused AUTH TLS; the client leg is TLS, the server leg stays plain (tls.server: bridge)", r.Code)
	default:
		// No silent downgrade: the client learns that the server refused, and decides.
		s.log.Warn("the server refused AUTH TLS; the client gets its refusal and its leg stays plain", "reply", r.Code)
		s.upgrade <- false
		return &r
	}
	s.upgrade <- true
	return nil
}

// bridge answers AUTH TLS with 234 while the server leg stays plain, which the policy says
// may happen (tls.server: bridge or refused): the reply, the log (why; the server's reply
// code if it refused) and the session's transfer records say so.
func (s *Session) bridge(why string, serverReply int) {
	s.mu.Lock()
	s.tls.bridge = true
	s.mu.Unlock()
	attrs := []any{}
	if serverReply != 0 {
		attrs = append(attrs, "reply", serverReply)
	}
	s.log.Warn(why, attrs...)
	s.writeClient(wire.NewReply(wire.CodeAuthOK, "AUTH TLS successful; the server leg is plain (TLS ends at ftpgate)."))
}

// awaitReplies waits, bounded (10 s), until no reply is owed to the client.
func (s *Session) awaitReplies(ctx context.Context) bool {
	for i := 0; i < 400 && ctx.Err() == nil; i++ {
		if s.backlog() == 0 {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}

// clearClient ends TLS on the client's control connection after CCC: ftpgate sends its
// close_notify, takes the client's if it comes, and reads plain text from there on.
func (s *Session) clearClient() error {
	if s.lr.Buffered() > 0 {
		return errors.New("ftp: the client sent data after CCC before the TLS closure")
	}
	s.mu.Lock()
	tc, rec := s.tls.client, s.tls.crec
	s.mu.Unlock()
	if err := tc.CloseWrite(); err != nil {
		return fmt.Errorf("ftp: CCC: %w", err)
	}
	// crypto/tls expires the write deadline after its close_notify, so that nothing else is
	// written under TLS; the plain text after CCC goes on the same connection.
	s.client.SetWriteDeadline(time.Time{})
	// Clients differ: some answer with their own close_notify, some go on in the clear.
	s.client.SetReadDeadline(time.Now().Add(2 * time.Second))
	if rec.nextIsAlert() {
		buf := make([]byte, 64)
		for i := 0; i < 4; i++ {
			if _, err := tc.Read(buf); err != nil {
				break
			}
		}
	}
	s.client.SetReadDeadline(time.Time{})
	rec.plain()
	s.cw.Lock()
	s.cio = rec
	s.cw.Unlock()
	s.lr = wire.NewLineReader(rec, s.cfg.MaxLine)
	s.mu.Lock()
	s.tls.client, s.tls.cleared = nil, true
	s.mu.Unlock()
	s.setTLS(false)
	s.log.Info("CCC: the client's control connection is in the clear now (data protection unchanged)")
	return nil
}

// requireServerTLS protects the server leg right after the greeting when policy requires it
// and the client leg did not ask: AUTH TLS, PBSZ 0 and PROT P go to the server on ftpgate's
// own behalf while the client's commands wait. It runs on the reply loop before the client
// sees the greeting.
func (s *Session) requireServerTLS(ctx context.Context) {
	s.sw.Lock()
	defer s.sw.Unlock()
	s.qmu.Lock()
	s.hold = true
	s.pending = append(s.pending, pendingCmd{cmd: wire.Command{Verb: "AUTH", Arg: "TLS"}, hook: func(r wire.Reply) *wire.Reply {
		return s.serverTLSUp(ctx, r)
	}})
	s.qmu.Unlock()
	s.writeServer(wire.Command{Verb: "AUTH", Arg: "TLS"}.Bytes())
}

// serverTLSUp handles the server's answer to the AUTH TLS of requireServerTLS: the server leg
// is upgraded, PBSZ 0 and PROT P follow, then the client's commands that waited.
func (s *Session) serverTLSUp(ctx context.Context, r wire.Reply) *wire.Reply {
	if r.Code != wire.CodeAuthOK {
		s.log.Warn("the server refused AUTH TLS, which policy requires; closing", "reply", r.Code)
		s.writeClient(wire.NewReply(wire.CodeUnavailable, "The server does not offer TLS, which policy requires."))
		s.cancel()
		return nil
	}
	if err := s.upgradeServer(ctx); err != nil {
		s.log.Warn("TLS toward the server failed; closing the session", "err", err.Error())
		s.writeClient(wire.NewReply(wire.CodeUnavailable, "Cannot establish a trusted TLS connection to the server: "+reason(err)))
		s.cancel()
		return nil
	}
	// PBSZ and PROT go first, right behind the AUTH being answered, ahead of the client's
	// commands that waited.
	internal := []pendingCmd{
		{cmd: wire.Command{Verb: "PBSZ", Arg: "0"}, hook: func(wire.Reply) *wire.Reply { return nil }},
		{cmd: wire.Command{Verb: "PROT", Arg: "P"}, hook: func(r wire.Reply) *wire.Reply {
			s.mu.Lock()
			s.tls.serverProt = wire.Positive(r.Code)
			s.mu.Unlock()
			return nil
		}},
	}
	s.sw.Lock()
	defer s.sw.Unlock()
	s.qmu.Lock()
	s.pending = slices.Insert(s.pending, 1, internal...)
	held := s.held
	s.hold, s.held = false, nil
	s.qmu.Unlock()
	for _, p := range internal {
		s.writeServer(p.cmd.Bytes())
	}
	for _, b := range held {
		s.writeServer(b)
	}
	return nil
}
