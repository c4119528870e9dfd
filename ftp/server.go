package ftp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Server accepts intercepted control connections and runs a Session for each.
type Server struct {
	Config Config
	Dialer Dialer
	Data   DataChannels
	Log    *slog.Logger
	// IsLocal reports whether an address belongs to this box. A connection whose original
	// destination is the box itself is refused: relaying it would loop back into ftpgate.
	IsLocal func(netip.Addr) bool

	ids atomic.Uint64
	wg  sync.WaitGroup
}

// Serve accepts on ln until ctx is cancelled (then it closes ln) or ln fails. Sessions keep
// running; Wait waits for them.
func (s *Server) Serve(ctx context.Context, ln *net.TCPListener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.start(ctx, conn)
	}
}

// Wait blocks until every session has ended.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) start(ctx context.Context, conn *net.TCPConn) {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dst := addrPort(conn.LocalAddr())
	if s.IsLocal != nil && s.IsLocal(dst.Addr()) {
		log.Warn("control connection to the gateway itself refused", "client", addrPort(conn.RemoteAddr()).String(), "dst", dst.String())
		conn.Write(NewReply(421, "ftpgate does not serve connections to the gateway itself.").Bytes())
		conn.Close()
		return
	}
	sess := NewSession(s.ids.Add(1), conn, dst, s.Config, s.Dialer, s.Data, log)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sess.Serve(ctx)
	}()
}
