package ftp

import (
	"context"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/wire"
)

// transfer is one transfer command on its way to its final reply: the record's metadata.
// The byte counts come from its data channel.
type transfer struct {
	cmd   wire.Command
	dir   wire.Direction
	rest  int64
	typ   string
	user  string
	data  *datachan.Channel
	start time.Time
	first int // first preliminary reply code, 0 if none

	replied     chan struct{} // closed when the final reply arrived
	repliedOnce sync.Once
	logged      sync.Once     // the record is written once: at the final reply, or when the session ends
	finished    chan struct{} // closed once the record is written: the transfer is over
	wait        *time.Timer   // bounds the wait for the final reply once the data has passed (guarded by s.qmu)
}

func (x *transfer) preliminary(code int) {
	if x.first == 0 {
		x.first = code
	}
}

// beginTransfer starts the record of a transfer command (the policy session has seen it),
// binding it to the data channel the last PASV/PORT opened. A REST offset applies to the
// verbs that restart (RETR, STOR, APPE).
func (s *Session) beginTransfer(cmd wire.Command, verb wire.Verb) *transfer {
	var rest int64
	s.pmu.Lock()
	user := s.pol.User()
	if verb.Restart {
		rest = s.pol.TransferOffset()
	}
	s.pmu.Unlock()
	s.mu.Lock()
	typ := s.typ
	s.mu.Unlock()
	return &transfer{cmd: cmd, dir: verb.Transfer, rest: rest, typ: typ, user: user, data: s.dc.Begin(),
		start: time.Now(), replied: make(chan struct{}), finished: make(chan struct{})}
}

// Relayed learns from datachan that a channel's bytes have all moved (datachan.Peer). The
// final reply of its transfer must now come within the reply timeout: a server that never
// sends it would leave the client hanging, so the session ends.
func (s *Session) Relayed(ch *datachan.Channel) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, p := range s.pending {
		x := p.xfer
		if x == nil || x.data != ch || x.wait != nil {
			continue
		}
		select {
		case <-x.replied: // the final reply is here already
		default:
			x.wait = time.AfterFunc(s.cfg.ReplyTimeout, func() { s.noFinalReply(x) })
		}
		return
	}
}

// stopWaits stops the final-reply timers of the transfers still owed a reply, when the
// session ends.
func (s *Session) stopWaits() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, p := range s.pending {
		if p.xfer != nil && p.xfer.wait != nil {
			p.xfer.wait.Stop()
		}
	}
}

// noFinalReply ends the session whose server sent no final reply to x in time.
func (s *Session) noFinalReply(x *transfer) {
	select {
	case <-x.replied:
		return
	default:
	}
	s.log.Warn("no final reply after the data connection closed; closing the session",
		"command", x.cmd.Verb, "timeout", s.cfg.ReplyTimeout.String())
	s.writeClient(wire.NewReply(wire.CodeUnavailable, "No reply from the server after the transfer, closing control connection."))
	s.cancel()
}

// finishTransfer completes a transfer when its final reply arrives: it waits (at most the
// linger time) until the data the transfer moves has passed completely, so the client never
// sees the final reply before its data connection, then logs the transfer record. A failed
// transfer whose data connection never arrived does not wait. When ftpgate refused the data
// connection's TLS, it returns the reply the client gets instead of the server's.
func (s *Session) finishTransfer(ctx context.Context, x *transfer, code int) (wire.Reply, bool) {
	x.repliedOnce.Do(func() { close(x.replied) })
	s.qmu.Lock()
	if x.wait != nil {
		x.wait.Stop()
	}
	s.qmu.Unlock()
	if d := x.data; d != nil {
		d.Hurry() // a kernel path channel reads its final counts now
		if d.Result().Arrived || wire.Class(code) < 4 {
			s.log.Debug("final reply held until the transfer's data has passed", "command", x.cmd.Verb, "reply", code)
			t := time.NewTimer(s.cfg.Linger + d.HoldBound()) // hooks may take their time
			select {
			case <-d.Done(x.dir):
			case <-ctx.Done(): // the session ends: its data channels close with it
				// and report their counts at once; the record waits for them, briefly.
				select {
				case <-d.Done(x.dir):
				case <-t.C:
				case <-time.After(time.Second):
				}
			case <-t.C:
				s.log.Warn("final reply passed on before the data connection finished", "command", x.cmd.Verb, "linger", s.cfg.Linger.String())
			}
			t.Stop()
		}
	}
	ref, refused := dataRefusal(x)
	clientCode := code
	if refused {
		clientCode = ref.Code
	}
	s.logTransfer(x, code, clientCode)
	return ref, refused
}

// logUnfinished writes the records of the transfers still owed a final reply when the
// session ended (the client left first, say): reply 0, unless ftpgate had refused the
// transfer's data, whose reply is then recorded as the client's.
func (s *Session) logUnfinished() {
	s.qmu.Lock()
	var xs []*transfer
	for _, p := range s.pending {
		if p.xfer != nil {
			xs = append(xs, p.xfer)
		}
	}
	s.qmu.Unlock()
	for _, x := range xs {
		code := 0
		if ref, refused := dataRefusal(x); refused {
			code = ref.Code
		}
		s.logTransfer(x, 0, code)
	}
}

// objectSize is the size the records give transfer x's object: what the hooks judged
// (whether or not it passed), else what passed in its direction.
func objectSize(x *transfer, res datachan.Result) int64 {
	switch {
	case len(res.Verdicts) > 0 && !res.Chunked:
		return res.Received
	case x.dir == wire.Upload:
		return res.ToServer
	}
	return res.ToClient
}

// logTransfer writes the transfer record, once: code is the server's final reply, clientCode
// the one the client got.
func (s *Session) logTransfer(x *transfer, code, clientCode int) {
	x.logged.Do(func() {
		s.writeTransfer(x, code, clientCode)
		if x.finished != nil {
			close(x.finished)
		}
	})
}

// writeTransfer is logTransfer's record.
func (s *Session) writeTransfer(x *transfer, code, clientCode int) {
	var res datachan.Result
	if x.data != nil {
		res = x.data.Result()
	}
	attrs := []any{
		"client", s.clientAddr.Addr().String(), "server", s.serverAddr.String(), "user", x.user,
		"command", x.cmd.Verb, "arg", x.cmd.Arg, "rest", x.rest, "type", x.typ, "direction", x.dir.String(),
		"bytes_to_client", res.ToClient, "bytes_to_server", res.ToServer,
		"duration", time.Since(x.start).Round(time.Millisecond).String(), "reply", clientCode,
		"complete", wire.Positive(clientCode) && res.Err == nil,
		"path", res.Path,
	}
	size := objectSize(x, res)
	if res.SHA256 != "" {
		attrs = append(attrs, "sha256", res.SHA256, "size", size)
	}
	if res.Path == datachan.PathKernel {
		// conntrack counts IP packets; the payload is estimated (kpath.Payload)
		attrs = append(attrs, "bytes_estimated", true)
	}
	if clientCode != code && code != 0 {
		attrs = append(attrs, "server_reply", code)
	}
	if c, sv := res.TLS[datachan.ClientLeg], res.TLS[datachan.ServerLeg]; c.Desc != "" || sv.Desc != "" {
		attrs = append(attrs, "tls_client", c.Desc, "tls_server", sv.Desc,
			"tls_client_resumed", c.Resumed, "tls_server_resumed", sv.Resumed)
	}
	s.mu.Lock()
	bridge := s.tls.bridge
	s.mu.Unlock()
	if bridge {
		attrs = append(attrs, "tls_bridge", true)
	}
	if res.Err != nil {
		attrs = append(attrs, "data_error", res.Err.Error())
	}
	if st := res.Packets; st != nil {
		attrs = append(attrs, "packet_filter", auditPackets(st))
	}
	if len(res.Verdicts) > 0 {
		attrs = append(attrs, "verdicts", res.Verdicts, "refused", res.Refused, "bytes_received", res.Received)
		if res.Chunked {
			attrs = append(attrs, "sha256_received", res.ReceivedSHA256)
		}
	}
	s.log.Info("transfer", attrs...)
	s.auditTransfer(x, code, clientCode, res, size)
	s.countTransfer(x, code, clientCode, res)
}
