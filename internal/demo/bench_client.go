package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// Bounds of the Go control-connection client.
const (
	loginTimeout  = 10 * time.Second // one connect + login (+ AUTH TLS)
	quitWait      = 2 * time.Second  // for the server to close after 221
	noopCount     = 2000             // NOOPs per run
	noopTimeout   = 60 * time.Second // all NOOPs of one run
	loginWindow   = 3 * time.Second  // how long each logins/s measurement loops
	maxLoginsEach = 100000           // per worker and window, far above what a window allows
)

// ftpTarget is an FTP server as the client namespace reaches it, with credentials and, for
// explicit FTPS, the client's TLS configuration (nil: plain FTP). The connections are made
// from this process through sockets created inside the client namespace.
type ftpTarget struct {
	tp         *testbed.Topology
	addr       netip.AddrPort
	user, pass string
	tls        *tls.Config
}

// login connects, reads the greeting, switches to TLS (AUTH TLS) when t.tls is set and logs
// in. The connection's deadline is cleared before it is returned.
func (t ftpTarget) login(ctx context.Context) (_ *ctrl, err error) {
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	conn, err := t.tp.DialContext(ctx, t.tp.Client, "tcp", t.addr.String())
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	c := &ctrl{conn: conn, r: bufio.NewReader(conn)}
	defer func() {
		if err != nil {
			c.conn.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if _, err := c.expect("", 220); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if t.tls != nil {
		if _, err := c.expect("AUTH TLS", 234); err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		tc := tls.Client(conn, t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("login: TLS handshake: %w", err)
		}
		c = &ctrl{conn: tc, r: bufio.NewReader(tc)}
	}
	if _, err := c.expect("USER "+t.user, 331); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if _, err := c.expect("PASS "+t.pass, 230); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if err := c.conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return c, nil
}

// quit sends QUIT, expects 221, waits briefly for the server to close first (so that the
// client namespace keeps no TIME_WAIT sockets) and closes the connection.
func (c *ctrl) quit() error {
	defer c.conn.Close()
	if err := c.conn.SetDeadline(time.Now().Add(loginTimeout)); err != nil {
		return fmt.Errorf("quit: %w", err)
	}
	if _, err := c.expect("QUIT", 221); err != nil {
		return fmt.Errorf("quit: %w", err)
	}
	_ = c.conn.SetDeadline(time.Now().Add(quitWait))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.r, 1<<16)) // until EOF, bounded in size and time
	return nil
}

// noopRTT logs in once and times noopCount NOOP round trips on that connection.
func noopRTT(ctx context.Context, t ftpTarget) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, noopTimeout)
	defer cancel()
	c, err := t.login(ctx)
	if err != nil {
		return nil, fmt.Errorf("NOOP client: %w", err)
	}
	defer c.conn.Close()
	deadline, _ := ctx.Deadline()
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("NOOP client: %w", err)
	}
	out := make([]time.Duration, 0, noopCount)
	for range noopCount {
		start := time.Now()
		if _, err := c.expect("NOOP", 200); err != nil {
			return nil, fmt.Errorf("NOOP client after %d round trips: %w", len(out), err)
		}
		out = append(out, time.Since(start))
	}
	if err := c.quit(); err != nil {
		return nil, fmt.Errorf("NOOP client: %w", err)
	}
	return out, nil
}

// loginRate runs workers parallel loops of connect, login and QUIT for loginWindow and
// returns the completed logins per second. Any failed login ends the measurement with an
// error: the paths under test must not refuse these few sessions.
func loginRate(ctx context.Context, t ftpTarget, workers int) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, loginWindow+2*loginTimeout)
	defer cancel()
	start := time.Now()
	end := start.Add(loginWindow)
	var done atomic.Int64
	errc := make(chan error, workers)
	for range workers {
		go func() {
			for i := 0; i < maxLoginsEach && time.Now().Before(end); i++ {
				c, err := t.login(ctx)
				if err == nil {
					err = c.quit()
				}
				if err != nil {
					errc <- err
					return
				}
				done.Add(1)
			}
			errc <- nil
		}()
	}
	var errs []error
	for range workers {
		if err := <-errc; err != nil {
			errs = append(errs, err)
			cancel() // the other workers stop at their next step
		}
	}
	elapsed := time.Since(start)
	if len(errs) > 0 {
		return 0, fmt.Errorf("logins at concurrency %d (%d done): %w", workers, done.Load(), errs[0])
	}
	return float64(done.Load()) / elapsed.Seconds(), nil
}
