package datachan

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
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
	return intercept.Serve(ctx, ln, func(conn *net.TCPConn) { s.dispatch(ctx, conn) })
}

// Wait blocks until every handler started by Serve has returned.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) dispatch(ctx context.Context, conn *net.TCPConn) {
	src := addrPort(conn.RemoteAddr())
	dst := addrPort(conn.LocalAddr())
	owner, h, ok := s.Registry.Claim(ctx, src, dst)
	if !ok {
		s.log().Warn("unexpected data connection refused", "src", src.String(), "dst", dst.String())
		conn.SetLinger(0)
		conn.Close()
		return
	}
	s.log().Debug("data connection claimed", "session", owner, "src", src.String(), "dst", dst.String())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h(conn)
	}()
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// addrPort returns a TCP address as an unmapped netip.AddrPort.
func addrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
