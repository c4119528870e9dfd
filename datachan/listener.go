package datachan

import (
	"context"
	"log/slog"
	"net"
	"sync"

	"github.com/ftpgate/ftpgate/intercept"
)

// Server accepts every data connection on the transparent data listeners and hands each one
// to the session that expects it. A connection nobody expects is reset and logged.
type Server struct {
	Registry *Registry
	Log      *slog.Logger

	wg sync.WaitGroup
}

// Serve accepts on ln until ctx is cancelled (then it closes ln) or ln fails for good.
func (s *Server) Serve(ctx context.Context, ln *net.TCPListener) error {
	return intercept.Serve(ctx, ln, s.log(), func(conn *net.TCPConn) { s.dispatch(ctx, conn) })
}

// Wait blocks until every handler started by Serve has returned.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) dispatch(ctx context.Context, conn *net.TCPConn) {
	src := intercept.AddrPort(conn.RemoteAddr())
	dst := intercept.AddrPort(conn.LocalAddr())
	owner, h, ok := s.Registry.Claim(ctx, src, dst)
	if !ok {
		s.log().Warn("unexpected data connection refused", "src", src.String(), "dst", dst.String())
		conn.SetLinger(0)
		conn.Close()
		return
	}
	s.log().Debug("data connection claimed", "session", owner, "src", src.String(), "dst", dst.String())
	s.wg.Add(1)
	go s.handle(h, conn)
}

// handle is the goroutine that gives an arrived connection to the session expecting it.
func (s *Server) handle(h Handler, conn *net.TCPConn) {
	defer s.wg.Done()
	h(conn)
}

// log returns the server's logger, or one that discards.
func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
