package ftp

import (
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/audit"
	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/wire"
)

// Auditor receives the audit records of sessions and transfers ([audit.Log]).
type Auditor interface {
	Session(audit.Session)
	Transfer(audit.Transfer)
}

// auditState is what a session's audit record counts (guarded by Session.mu).
type auditState struct {
	verb         string // the command being handled, for refusals
	commands     int
	transfers    int
	refused      []audit.Refusal
	refusedTotal int
}

// auditCommand notes a command line from the client; verb is "" until it parsed.
func (s *Session) auditCommand(verb string) {
	s.mu.Lock()
	s.aud.commands++
	s.aud.verb = verb
	s.mu.Unlock()
}

// auditVerb names the command being handled, once its line parsed.
func (s *Session) auditVerb(verb string) {
	s.mu.Lock()
	s.aud.verb = verb
	s.mu.Unlock()
}

// auditRefusal notes that ftpgate refused the command being handled.
func (s *Session) auditRefusal(why string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aud.refusedTotal++
	if len(s.aud.refused) < audit.MaxRefused {
		s.aud.refused = append(s.aud.refused, audit.Refusal{Command: s.aud.verb, Reply: code, Reason: why})
	}
}

// auditSession writes the session's record, when it ends.
func (s *Session) auditSession(start time.Time, err error) {
	if s.cfg.Audit == nil {
		return
	}
	now := time.Now()
	r := audit.Session{Time: now, Session: s.ID, Start: start, Duration: now.Sub(start).Seconds(),
		Client: s.clientAddr.String(), Server: s.serverAddr.String(), Service: s.cfg.Service, Policy: s.cfg.Policy,
		User: s.user()}
	s.mu.Lock()
	r.Commands, r.Transfers, r.Refused, r.RefusedTotal = s.aud.commands, s.aud.transfers, s.aud.refused, s.aud.refusedTotal
	if c := s.tls.client; c != nil {
		v, ci := ftptls.Describe(c.ConnectionState())
		r.TLSClient = &audit.TLS{Version: v, Cipher: ci}
	}
	if c := s.tls.server; c != nil {
		v, ci := ftptls.Describe(c.ConnectionState())
		r.TLSServer = &audit.TLS{Version: v, Cipher: ci}
	}
	r.TLSBridge = s.tls.bridge
	s.mu.Unlock()
	if err != nil {
		r.Error = err.Error()
	}
	s.cfg.Audit.Session(r)
}

// auditTransfer writes a transfer's record: code is the server's final reply, clientCode
// the client's, res what its channel carried.
func (s *Session) auditTransfer(x *transfer, code, clientCode int, res datachan.Result, size int64) {
	s.mu.Lock()
	s.aud.transfers++
	s.mu.Unlock()
	if s.cfg.Audit == nil {
		return
	}
	now := time.Now()
	r := audit.Transfer{Time: now, Session: s.ID, Client: s.clientAddr.String(), Server: s.serverAddr.String(),
		Service: s.cfg.Service, Policy: s.cfg.Policy, User: x.user,
		Command: x.cmd.Verb, Arg: x.cmd.Arg, Rest: x.rest, Type: x.typ, Direction: x.dir.String(), Path: res.Path,
		DataClient: res.Conns[datachan.ClientLeg], DataServer: res.Conns[datachan.ServerLeg],
		TLSClient: auditTLS(res.TLS[datachan.ClientLeg]), TLSServer: auditTLS(res.TLS[datachan.ServerLeg]),
		BytesToClient: res.ToClient, BytesToServer: res.ToServer, BytesEstimated: res.Path == datachan.PathKernel,
		Size: size, SHA256: res.SHA256, Reply: clientCode,
		Complete: wire.Positive(clientCode) && res.Err == nil, Duration: now.Sub(x.start).Seconds()}
	if clientCode != code && code != 0 {
		r.ServerReply = code
	}
	if res.Err != nil {
		r.DataError = res.Err.Error()
	}
	if len(res.Verdicts) > 0 {
		r.Verdicts, r.Refused, r.BytesReceived = res.Verdicts, res.Refused, res.Received
		r.SHA256Received = res.ReceivedSHA256
	}
	r.PacketFilter = auditPackets(res.Packets)
	s.cfg.Audit.Transfer(r)
}

// auditPackets is the record's view of the packet filter's account (nil: none).
func auditPackets(st *pktfilter.Stats) *audit.PacketFilter {
	if st == nil {
		return nil
	}
	return &audit.PacketFilter{Packets: st.Packets, Bytes: st.Bytes, Accepted: st.Accepted, Dropped: st.Dropped,
		Rewritten: st.Rewritten, Delayed: st.Delayed, RateDropped: st.RateDropped, Reordered: st.Reordered,
		OutOfOrder: st.OutOfOrder,
		Unjudged:   st.Unjudged, Unparsed: st.Unparsed, CallbackErrors: st.CallbackErrors, TimedOut: st.TimedOut,
		CallbackOff: st.CallbackOff, CallbackError: st.LastError, Stopped: st.Stopped,
		MaxHoldMS: float64(st.MaxHold.Microseconds()) / 1000}
}

// auditTLS turns a data leg's TLS description into the record's form (nil: plain).
func auditTLS(t datachan.TLSInfo) *audit.TLS {
	if t.Desc == "" {
		return nil
	}
	v, c, _ := strings.Cut(t.Desc, " ")
	return &audit.TLS{Version: v, Cipher: c, Resumed: t.Resumed}
}
