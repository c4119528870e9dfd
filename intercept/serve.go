package intercept

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// Serve accepts connections on ln and passes each to handle, on the accepting goroutine, until
// ctx is cancelled (Serve then closes ln and returns nil) or accepting fails for good. Running
// out of file descriptors or memory is not for good: Serve backs off (5ms doubling to 1s) and
// goes on, so a burst of connections cannot stop the gateway. The first failure of a run is
// logged as a warning on log (nil discards), and the first success after it says how many
// accepts failed and for how long; nothing is logged per retry.
func Serve(ctx context.Context, ln *net.TCPListener, log *slog.Logger, handle func(*net.TCPConn)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return serve(ctx, ln, log.With("listener", ln.Addr().String()), handle)
}

// acceptor is what serve needs of a *net.TCPListener.
type acceptor interface {
	AcceptTCP() (*net.TCPConn, error)
	Close() error
}

func serve(ctx context.Context, ln acceptor, log *slog.Logger, handle func(*net.TCPConn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var (
		backoff time.Duration
		failed  int
		since   time.Time
	)
	for {
		conn, err := ln.AcceptTCP()
		if err == nil {
			if failed > 0 {
				log.Info("accepting again", "failed_accepts", failed, "paused", time.Since(since).Round(time.Millisecond))
				failed = 0
			}
			backoff = 0
			handle(conn)
			continue
		}
		if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
			return nil
		}
		if !transient(err) {
			return err
		}
		if failed == 0 {
			since = time.Now()
			log.Warn("accept failing; pausing new connections until it passes (running sessions go on)", "err", err)
		}
		failed++
		backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
}

// transient reports whether an accept error passes with time.
func transient(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
