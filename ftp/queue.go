package ftp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ftpgate/ftpgate/wire"
)

// maxPending bounds the commands (and ftpgate's own replies) waiting for the server's replies
// to earlier commands: while that many are owed, ftpgate reads no more commands from the
// client (they wait in the kernel's buffers, as they would for a server that is busy), so
// memory stays bounded and nothing a pipelining client sends is lost or reordered.
const maxPending = 256

// pendingCmd is a command forwarded to the server and not yet answered with a final reply, or
// a reply ftpgate itself gives, queued so that replies reach the client in command order. The
// head of the queue stays in it until its reply has been written to the client.
type pendingCmd struct {
	cmd   wire.Command
	xfer  *transfer
	local *wire.Reply
	hook  replyHook // makes the client's reply out of the server's final reply
	// quiet keeps the server's preliminary replies from the client, who had ftpgate's own
	// (a held upload's 150).
	quiet bool
}

// replyHook turns the server's final reply to a command into the client's reply; nil means
// the client gets nothing now (a follow-up command will answer it). It runs on the reply
// loop with no lock held.
type replyHook func(r wire.Reply) *wire.Reply

// writeClient writes a reply to the client now.
func (s *Session) writeClient(r wire.Reply) {
	s.cw.Lock()
	defer s.cw.Unlock()
	s.writeClientLocked(r)
}

// writeClientLocked writes a reply to the client; s.cw is held. A client that takes nothing
// of it within the write timeout (it stopped reading) ends the session.
func (s *Session) writeClientLocked(r wire.Reply) {
	s.client.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	_, err := s.cio.Write(r.Bytes())
	// Cleared at once: a deadline left behind would fail a later TLS handshake or CCC.
	s.client.SetWriteDeadline(time.Time{})
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Warn("the client takes no replies; closing the session", "write_timeout", s.cfg.WriteTimeout.String(), "reply", r.Code)
		s.end()
	default:
		s.log.Debug("write to client", "err", err.Error())
	}
}

// writeServer writes b, a command or Telnet signals, to the server leg. A server that takes
// nothing of it within the write timeout ends the session.
func (s *Session) writeServer(b []byte) error {
	s.server.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	_, err := s.sio.Write(b)
	s.server.SetWriteDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.log.Warn("the server takes no commands; closing the session", "write_timeout", s.cfg.WriteTimeout.String())
		s.end()
	}
	return err
}

// end ends the session from any goroutine (both loops stop, Serve cleans up).
func (s *Session) end() {
	if s.cancel != nil {
		s.cancel()
	}
}

// waitRoom blocks the command loop while maxPending entries are owed replies, until the
// server's replies make room or ctx ends; it reports whether there is room.
func (s *Session) waitRoom(ctx context.Context) bool {
	logged := false
	for {
		n := s.backlog()
		if n < maxPending {
			return true
		}
		if !logged {
			s.log.Debug("client pipelines more commands than are answered; reading no more until the server catches up", "pending", n)
			logged = true
		}
		select {
		case <-s.room:
		case <-ctx.Done():
			return false
		}
	}
}

// reply answers the client on ftpgate's own behalf, after every reply still owed to
// commands sent before.
func (s *Session) reply(r wire.Reply) {
	s.cw.Lock()
	defer s.cw.Unlock()
	s.qmu.Lock()
	if len(s.pending) > 0 {
		s.pending = append(s.pending, pendingCmd{local: &r})
		s.qmu.Unlock()
		return
	}
	s.qmu.Unlock()
	s.writeClientLocked(r)
}

// refuse logs why a command was refused and answers the client with r.
func (s *Session) refuse(why string, r wire.Reply, attrs ...any) {
	s.log.Warn("command refused: "+why, append(attrs, "reply", r.Code)...)
	s.auditRefusal(why, r.Code)
	s.reply(r)
}

// forward queues cmd as owed a reply and sends it to the server.
func (s *Session) forward(cmd wire.Command, x *transfer) error {
	_, err := s.send(pendingCmd{cmd: cmd, xfer: x}, false)
	return err
}

// forwardHook forwards cmd; hook makes the client's reply out of the server's.
func (s *Session) forwardHook(cmd wire.Command, hook replyHook) error {
	_, err := s.send(pendingCmd{cmd: cmd, hook: hook}, false)
	return err
}

// send queues p and writes its command to the server (or holds it while the server leg is
// being upgraded to TLS). With alone set it sends only when nothing but the reply being
// handled is owed (a retry the reply loop makes) and reports whether it did.
func (s *Session) send(p pendingCmd, alone bool) (bool, error) {
	s.sw.Lock()
	defer s.sw.Unlock()
	s.qmu.Lock()
	if alone && (len(s.pending) > 1 || s.hold) {
		s.qmu.Unlock()
		return false, nil
	}
	s.pending = append(s.pending, p)
	if s.hold {
		s.held = append(s.held, p.cmd.Bytes())
		s.qmu.Unlock()
		return true, nil
	}
	s.qmu.Unlock()
	if p.cmd.Verb == "ABOR" {
		return true, s.sendAbort(p.cmd)
	}
	if err := s.writeServer(p.cmd.Bytes()); err != nil {
		return true, fmt.Errorf("ftp: write command: %w", err)
	}
	return true, nil
}

// head returns the entry the next server reply answers, or false when none is owed (an
// unsolicited reply).
func (s *Session) head() (pendingCmd, bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if len(s.pending) > 0 && s.pending[0].local == nil {
		return s.pending[0], true
	}
	return pendingCmd{}, false
}

// complete writes the client's reply to the head of the queue (out, nil for none), removes
// the head, and writes the replies of ftpgate's own that waited behind it.
func (s *Session) complete(out *wire.Reply) {
	s.cw.Lock()
	defer s.cw.Unlock()
	if out != nil {
		s.writeClientLocked(*out)
	}
	s.qmu.Lock()
	if len(s.pending) > 0 {
		s.pending = s.pending[1:]
	}
	var locals []wire.Reply
	for len(s.pending) > 0 && s.pending[0].local != nil {
		locals = append(locals, *s.pending[0].local)
		s.pending = s.pending[1:]
	}
	s.qmu.Unlock()
	select { // the command loop may be waiting for room in the queue
	case s.room <- struct{}{}:
	default:
	}
	for _, r := range locals {
		s.writeClientLocked(r)
	}
}

// backlog is the number of entries owed a reply.
func (s *Session) backlog() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.pending)
}
