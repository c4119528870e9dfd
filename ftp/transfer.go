package ftp

import (
	"context"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/wire"
)

// transfer is one transfer command on its way to its final reply.
type transfer struct {
	cmd   wire.Command
	dir   wire.Direction
	rest  int64
	typ   string
	user  string
	data  *dataChannel
	start time.Time
	first int // first preliminary reply code, 0 if none

	replied     chan struct{} // closed when the final reply arrived
	repliedOnce sync.Once
}

func (x *transfer) preliminary(code int) {
	if x.first == 0 {
		x.first = code
	}
}

// beginTransfer starts the record of a transfer command, binding it to the data channel the
// last PASV/PORT opened. REST applies to this transfer only.
func (s *Session) beginTransfer(cmd wire.Command, dir wire.Direction) *transfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := &transfer{cmd: cmd, dir: dir, rest: s.rest, typ: s.typ, user: s.user, data: s.cur, start: time.Now(),
		replied: make(chan struct{})}
	if s.cur != nil {
		s.cur.bind(x)
	}
	s.active, s.cur, s.rest = s.cur, nil, 0
	return x
}

// awaitFinal bounds the wait for a transfer's final reply once its data connection closed:
// a server that never sends it would leave the client hanging, so the session ends.
func (s *Session) awaitFinal(ctx context.Context, x *transfer) {
	t := time.NewTimer(s.cfg.ReplyTimeout)
	defer t.Stop()
	select {
	case <-x.replied:
	case <-ctx.Done():
	case <-t.C:
		s.log.Warn("no final reply after the data connection closed; closing the session",
			"command", x.cmd.Verb, "timeout", s.cfg.ReplyTimeout.String())
		s.writeClient(wire.NewReply(421, "No reply from the server after the transfer, closing control connection."))
		s.cancel()
	}
}

// finishTransfer completes a transfer when its final reply arrives: it waits (at most the
// linger time) until the data the transfer moves has passed completely, so the client never
// sees the final reply before its data connection, then logs the transfer record. A failed
// transfer whose data connection never arrived does not wait.
func (s *Session) finishTransfer(x *transfer, code int) {
	x.repliedOnce.Do(func() { close(x.replied) })
	if d := x.data; d != nil {
		d.mu.Lock()
		arrived := d.arrived
		d.mu.Unlock()
		if arrived || code < 400 {
			t := time.NewTimer(s.cfg.Linger)
			select {
			case <-d.doneFor(x.dir):
			case <-t.C:
				s.log.Warn("final reply passed on before the data connection finished", "command", x.cmd.Verb, "linger", s.cfg.Linger.String())
			}
			t.Stop()
		}
	}
	s.logTransfer(x, code)
}

func (s *Session) logTransfer(x *transfer, code int) {
	var toClient, toServer int64
	var dataErr string
	var legs [2]string
	if d := x.data; d != nil {
		d.mu.Lock()
		toClient, toServer, legs = d.toClient, d.toServer, d.tlsDesc
		if d.err != nil {
			dataErr = d.err.Error()
		}
		d.mu.Unlock()
	}
	arg := x.cmd.Arg
	attrs := []any{
		"client", s.clientAddr.Addr().String(), "server", s.serverAddr.String(), "user", x.user,
		"command", x.cmd.Verb, "arg", arg, "rest", x.rest, "type", x.typ, "direction", x.dir.String(),
		"bytes_to_client", toClient, "bytes_to_server", toServer,
		"duration", time.Since(x.start).Round(time.Millisecond).String(), "reply", code,
		"complete", code/100 == 2 && dataErr == "",
	}
	if legs[clientSide] != "" || legs[serverSide] != "" {
		attrs = append(attrs, "tls_client", legs[clientSide], "tls_server", legs[serverSide])
	}
	if dataErr != "" {
		attrs = append(attrs, "data_error", dataErr)
	}
	s.log.Info("transfer", attrs...)
}
