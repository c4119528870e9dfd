package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/ftp"
	"golang.org/x/sys/unix"
)

// Handler answers the requests: the daemon's side of the protocol. by names the peer that
// asked (its uid and pid), for the logs.
type Handler interface {
	Sessions(ctx context.Context) []ftp.SessionInfo
	Kill(ctx context.Context, id uint64, by string) error
	Status(ctx context.Context) Status
	// Reload loads the configuration again; the message says what was loaded, the error
	// why nothing changed.
	Reload(ctx context.Context, by string) (string, error)
}

// maxConns bounds the requests served at once; more wait to be accepted.
const maxConns = 8

// writeTimeout bounds the writing of a response.
const writeTimeout = 5 * time.Second

// Server serves the control socket.
type Server struct {
	ln   *net.UnixListener
	path string
	log  *slog.Logger
	wg   sync.WaitGroup
}

// Serve answers requests with h until ctx ends, then closes the socket (which removes its
// file) and waits for the requests being answered.
func (s *Server) Serve(ctx context.Context, h Handler) {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	sem := make(chan struct{}, maxConns)
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket: accept failed; the socket is closed", "path", s.path, "err", err.Error())
			}
			break
		}
		sem <- struct{}{}
		s.wg.Go(func() {
			defer func() { <-sem }()
			s.serveConn(ctx, conn, h)
		})
	}
	s.ln.Close()
	s.wg.Wait()
}

// Close closes the socket and removes its file (Serve does it when its context ends).
func (s *Server) Close() error { return s.ln.Close() }

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// serveConn answers the one request of conn.
func (s *Server) serveConn(ctx context.Context, conn *net.UnixConn, h Handler) {
	defer conn.Close()
	by := peer(conn)
	conn.SetReadDeadline(time.Now().Add(ReadTimeout))
	req, err := ReadRequest(conn)
	var resp Response
	if err != nil {
		s.log.Warn("control socket: bad request", "peer", by, "err", err.Error())
		resp = errorResponse(err)
	} else {
		s.log.Debug("control socket: request", "peer", by, "cmd", req.Cmd, "id", req.ID)
		resp = answer(ctx, h, req, by)
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := WriteLine(conn, resp); err != nil {
		s.log.Warn("control socket: response not delivered", "peer", by, "err", err.Error())
	}
}

// answer runs a checked request.
func answer(ctx context.Context, h Handler, req Request, by string) Response {
	resp := Response{V: Version, OK: true}
	switch req.Cmd {
	case CmdSessions:
		resp.Sessions = h.Sessions(ctx)
		if resp.Sessions == nil {
			resp.Sessions = []ftp.SessionInfo{}
		}
	case CmdKill:
		if err := h.Kill(ctx, req.ID, by); err != nil {
			return errorResponse(err)
		}
		resp.Message = fmt.Sprintf("session %d killed", req.ID)
	case CmdStatus:
		st := h.Status(ctx)
		resp.Status = &st
	case CmdReload:
		msg, err := h.Reload(ctx, by)
		if err != nil {
			return errorResponse(err)
		}
		resp.Message = msg
	}
	return resp
}

// peer names the process at the other end of conn: "control socket (uid U, pid P)".
func peer(conn *net.UnixConn) string {
	raw, err := conn.SyscallConn()
	if err != nil {
		return "control socket (peer unknown)"
	}
	var (
		cred *unix.Ucred
		cerr error
	)
	if err := raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil || cerr != nil {
		return "control socket (peer unknown)"
	}
	return fmt.Sprintf("control socket (uid %d, pid %d)", cred.Uid, cred.Pid)
}
