package intercept

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// Serve accepts connections on ln and passes each to handle, on the accepting goroutine, until
// ctx is cancelled (Serve then closes ln and returns nil) or accepting fails for good. Running
// out of file descriptors or memory is not for good: Serve backs off (5ms doubling to 1s) and
// goes on, so a burst of connections cannot stop the gateway.
func Serve(ctx context.Context, ln *net.TCPListener, handle func(*net.TCPConn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var backoff time.Duration
	for {
		conn, err := ln.AcceptTCP()
		if err == nil {
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
