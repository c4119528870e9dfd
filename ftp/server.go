package ftp

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/intercept"
	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/policy"
)

// Server accepts intercepted control connections and runs a Session for each.
type Server struct {
	Config Config
	Dialer datachan.Dialer
	Data   datachan.Expecter
	Log    *slog.Logger
	// IsLocal reports whether an address belongs to this box. A connection whose original
	// destination is the box itself is refused: relaying it would loop back into ftpgate.
	IsLocal func(netip.Addr) bool
	// Policies picks the policy of a new control connection from its client and original
	// destination, and names its service; false refuses the connection with 421. Nil
	// accepts every connection without a policy.
	Policies func(client, server netip.AddrPort) (p *policy.Policy, service string, ok bool)
	// ImplicitPorts are the control ports of implicit FTPS (990): both legs TLS from the
	// first byte.
	ImplicitPorts []uint16
	// Limits bound the sessions at once; over a limit the client gets 421.
	Limits Limits
	// SessionContext, when set, is the context the sessions run in instead of Serve's: a
	// daemon that stops in two steps cancels Serve's context to stop accepting, and this one
	// when the running sessions are to end (see Drain).
	SessionContext context.Context

	ids   atomic.Uint64
	wg    sync.WaitGroup
	count sessionCount
	live  Registry
}

// Serve accepts on ln until ctx is cancelled (then it closes ln) or ln fails for good.
// Sessions keep running; Wait waits for them.
func (s *Server) Serve(ctx context.Context, ln *net.TCPListener) error {
	sctx := ctx
	if s.SessionContext != nil {
		sctx = s.SessionContext
	}
	return intercept.Serve(ctx, ln, s.Log, func(conn *net.TCPConn) { s.start(sctx, conn) })
}

// Wait blocks until every session has ended.
func (s *Server) Wait() { s.wg.Wait() }

// Sessions reports how many sessions run now.
func (s *Server) Sessions() int {
	s.count.mu.Lock()
	defer s.count.mu.Unlock()
	return s.count.total
}

func (s *Server) start(ctx context.Context, conn *net.TCPConn) {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dst := intercept.AddrPort(conn.LocalAddr())
	if s.IsLocal != nil && s.IsLocal(dst.Addr()) {
		log.Warn("control connection to the gateway itself refused", "client", intercept.AddrPort(conn.RemoteAddr()).String(), "dst", dst.String())
		refuseConn(conn, "ftpgate does not serve connections to the gateway itself.")
		s.Config.Metrics.SessionRefused(metrics.RefusedLocal)
		return
	}
	id := s.ids.Add(1)
	client := intercept.AddrPort(conn.RemoteAddr())
	switch s.count.acquire(s.Limits, client.Addr()) {
	case totalLimit:
		log.Warn("session limit reached; connection refused", "client", client.String(), "max_sessions", s.Limits.MaxSessions)
		refuseConn(conn, "Too many sessions, try again later.")
		s.Config.Metrics.SessionRefused(metrics.RefusedLimit)
		return
	case clientLimit:
		log.Warn("session limit of the client address reached; connection refused", "client", client.String(), "max_sessions_per_client", s.Limits.MaxPerClient)
		refuseConn(conn, "Too many sessions from your address, try again later.")
		s.Config.Metrics.SessionRefused(metrics.RefusedClientLimit)
		return
	}
	cfg := s.Config
	var pol PolicySession
	if s.Policies != nil {
		p, service, ok := s.Policies(client, dst)
		if !ok {
			log.Warn("control connection matches no service; refused", "client", client.String(), "server", dst.String())
			refuseConn(conn, "Service not available: no service for this connection.")
			s.count.release(client.Addr())
			s.Config.Metrics.SessionRefused(metrics.RefusedNoService)
			return
		}
		log = log.With("service", service, "policy", p.Name)
		pol = p.NewSession(policy.Info{ID: id, Client: client, Server: dst})
		cfg = cfg.withPolicy(p, slices.Contains(s.ImplicitPorts, dst.Port()), dst.Port())
		cfg.Service, cfg.Policy = service, p.Name
	}
	sess := NewSession(id, conn, dst, cfg, s.Dialer, s.Data, pol, log)
	s.wg.Add(1)
	s.live.Add(sess)
	cfg.Metrics.SessionStarted(cfg.Service)
	sess.Start(ctx, func(error) {
		s.live.Remove(id)
		cfg.Metrics.SessionEnded(cfg.Service)
		s.count.release(client.Addr())
		s.wg.Done()
	})
}

// Snapshot describes the live sessions (`ftpgate sessions`).
func (s *Server) Snapshot() []SessionInfo { return s.live.Snapshot() }

// Kill ends the live session id; by names who asked, for the logs. An id that is not live
// is ErrNoSession.
func (s *Server) Kill(id uint64, by string) error { return s.live.Kill(id, by) }

// refuseConn answers a control connection ftpgate does not serve with 421 and closes it.
func refuseConn(conn *net.TCPConn, text string) {
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	conn.Write(wire.NewReply(wire.CodeUnavailable, text).Bytes())
	conn.Close()
}
