package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// Bounds of the data-channel set-up measurement: setupSessions logged-in sessions send PASV
// in a loop for setupWindow (at most maxPASVEach each), never connecting to the data port.
// Through ftpgate each PASV sets up a pinhole that the next one supersedes.
const (
	setupSessions = 16
	setupWindow   = 3 * time.Second
	maxPASVEach   = 200000 // per session and window, far above what a window allows
	probeTimeout  = 10 * time.Second
)

// pasvRate logs setupSessions sessions in to t, lets each send PASV in a loop for setupWindow
// and returns the 227 replies per second over all of them. probe runs after the loops, while
// the sessions are still logged in, and its result is returned as held. Any reply but 227
// or any error fails the measurement.
func pasvRate(ctx context.Context, t ftpTarget, probe func() string) (rate float64, held string, err error) {
	ctx, cancel := context.WithTimeout(ctx, setupWindow+3*loginTimeout)
	defer cancel()
	sessions, err := openSessions(ctx, t, setupSessions)
	defer func() {
		for _, c := range sessions {
			c.conn.Close()
		}
	}()
	if err != nil {
		return 0, "", &cellError{note: "login failed", err: fmt.Errorf("PASV/s: %d of %d sessions: %w", len(sessions), setupSessions, err)}
	}
	deadline, _ := ctx.Deadline()
	for _, c := range sessions {
		if err := c.conn.SetDeadline(deadline); err != nil {
			return 0, "", fmt.Errorf("PASV/s: %w", err)
		}
	}
	n, elapsed, err := pasvLoops(sessions)
	if err != nil {
		return 0, "", err
	}
	held = probe()
	var errs []error
	for _, c := range sessions {
		errs = append(errs, c.quit())
	}
	if err := errors.Join(errs...); err != nil {
		return 0, "", &cellError{note: "QUIT failed", err: fmt.Errorf("PASV/s: %w", err)}
	}
	return float64(n) / elapsed.Seconds(), held, nil
}

// pasvLoops sends PASV on every session in parallel until setupWindow has passed and
// returns the 227 replies and the time until the last loop ended.
func pasvLoops(sessions []*ctrl) (int64, time.Duration, error) {
	start := time.Now()
	end := start.Add(setupWindow)
	var done atomic.Int64
	errc := make(chan error, len(sessions))
	for _, c := range sessions {
		go func() {
			for i := 0; i < maxPASVEach && time.Now().Before(end); i++ {
				if line, err := c.expect("PASV", 227); err != nil {
					errc <- &cellError{note: pasvNote(line), err: fmt.Errorf("PASV/s: after %d replies on this session: %w", i, err)}
					return
				}
				done.Add(1)
			}
			errc <- nil
		}()
	}
	var errs []error
	for range sessions {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	elapsed := time.Since(start)
	if len(errs) > 0 {
		return 0, 0, fmt.Errorf("%d of %d sessions failed (%d replies 227 before): %w",
			len(errs), len(sessions), done.Load(), errs[0])
	}
	return done.Load(), elapsed, nil
}

// pasvNote is the cell note of a failed PASV: the reply's code when the server (or gateway)
// answered otherwise than 227, else "no reply".
func pasvNote(line string) string {
	if len(line) >= 3 {
		return "reply " + line[:3]
	}
	return "no reply"
}

// pinholes says how many pinholes gw holds: conntrack expectations and, with ftpgate (g),
// the elements of its expectation sets. A failed count shows as "?".
func (e *benchEnv) pinholes(ctx context.Context, g *scenario.Gateway) string {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	tp := e.b.tp
	var s []string
	if g != nil {
		if el, err := scenario.Elements(ctx, tp, table); err != nil {
			s = append(s, "? nft elements ("+firstLine(err)+")")
		} else {
			s = append(s, fmt.Sprintf("%d nft elements", len(el)))
		}
	}
	if n, err := countExpectations(tp); err != nil {
		s = append(s, "? expectations ("+firstLine(err)+")")
	} else {
		s = append(s, fmt.Sprintf("%d expectations", n))
	}
	return strings.Join(s, ", ")
}
