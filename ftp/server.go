package ftp

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/intercept"
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

	ids atomic.Uint64
	wg  sync.WaitGroup
}

// Serve accepts on ln until ctx is cancelled (then it closes ln) or ln fails for good.
// Sessions keep running; Wait waits for them.
func (s *Server) Serve(ctx context.Context, ln *net.TCPListener) error {
	return intercept.Serve(ctx, ln, func(conn *net.TCPConn) { s.start(ctx, conn) })
}

// Wait blocks until every session has ended.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) start(ctx context.Context, conn *net.TCPConn) {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dst := intercept.AddrPort(conn.LocalAddr())
	if s.IsLocal != nil && s.IsLocal(dst.Addr()) {
		log.Warn("control connection to the gateway itself refused", "client", intercept.AddrPort(conn.RemoteAddr()).String(), "dst", dst.String())
		conn.Write(wire.NewReply(wire.CodeUnavailable, "ftpgate does not serve connections to the gateway itself.").Bytes())
		conn.Close()
		return
	}
	id := s.ids.Add(1)
	client := intercept.AddrPort(conn.RemoteAddr())
	cfg := s.Config
	var pol PolicySession
	if s.Policies != nil {
		p, service, ok := s.Policies(client, dst)
		if !ok {
			log.Warn("control connection matches no service; refused", "client", client.String(), "server", dst.String())
			conn.Write(wire.NewReply(wire.CodeUnavailable, "Service not available: no service for this connection.").Bytes())
			conn.Close()
			return
		}
		log = log.With("service", service, "policy", p.Name)
		pol = p.NewSession(policy.Info{ID: id, Client: client, Server: dst})
		cfg = cfg.withPolicy(p, slices.Contains(s.ImplicitPorts, dst.Port()), dst.Port())
	}
	sess := NewSession(id, conn, dst, cfg, s.Dialer, s.Data, pol, log)
	s.wg.Add(1)
	go s.serveSession(ctx, sess)
}

// serveSession is the goroutine of one session.
func (s *Server) serveSession(ctx context.Context, sess *Session) {
	defer s.wg.Done()
	sess.Serve(ctx)
}
