package ftp

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/park"
)

// The legs whose loops may park: the command loop reads the client, the reply loop the
// server.
const (
	legClient = 0
	legServer = 1
)

// errParked is what a loop returns when it parked: it is not over, the poller starts it
// again when its leg is readable.
var errParked = errors.New("ftp: loop parked")

// loops tracks a session's command and reply loops: which is parked in Config.Park, and
// which have ended. The last loop to end closes the session.
type loops struct {
	mu      sync.Mutex
	parked  [2]*park.Handle // by leg; nil while the loop runs on a goroutine
	resume  [2]func()       // made once: what the poller runs to start each loop again
	running int             // loops that have not ended
	errs    [2]error        // by leg: why each loop ended
	start   time.Time
	ended   func(error)
}

// initLoops prepares the loops of a session whose context is ctx.
func (s *Session) initLoops(ctx context.Context, start time.Time, ended func(error)) {
	l := &s.loops
	l.running, l.start, l.ended = 2, start, ended
	l.resume[legClient] = func() { s.resumed(legClient); s.commandTask(ctx) }
	l.resume[legServer] = func() { s.resumed(legServer); s.replyTask(ctx) }
}

// commandTask runs the command loop on the calling goroutine until it ends or parks.
func (s *Session) commandTask(ctx context.Context) {
	if err := s.commandLoop(ctx); err != errParked {
		s.loopEnded(ctx, legClient, err)
	}
}

// replyTask runs the reply loop on the calling goroutine until it ends or parks.
func (s *Session) replyTask(ctx context.Context) {
	if err := s.replyLoop(ctx); err != errParked {
		s.loopEnded(ctx, legServer, err)
	}
}

// loopEnded records why a loop ended and ends the session: the other loop sees its legs
// closed (or, parked, is started again to see it). The last loop out closes the session.
func (s *Session) loopEnded(ctx context.Context, leg int, err error) {
	s.cancel()
	l := &s.loops
	l.mu.Lock()
	l.errs[leg] = err
	l.running--
	last := l.running == 0
	l.mu.Unlock()
	if last {
		err := errors.Join(l.errs[legClient], l.errs[legServer])
		s.close(ctx, s.cancel, l.start, err)
		l.ended(err)
	}
}

// parkAfter is how long a leg stays quiet before its loop parks (0: never).
func (s *Session) parkAfter() time.Duration {
	if s.cfg.Park == nil {
		return 0
	}
	return s.cfg.ParkAfter
}

// park hands the loop of leg to the poller, and reports whether it did: then the loop
// returns errParked and its goroutine ends. A session that is ending does not park.
func (s *Session) park(ctx context.Context, leg int) bool {
	l := &s.loops
	l.mu.Lock()
	defer l.mu.Unlock()
	if ctx.Err() != nil {
		return false
	}
	conn := s.client
	if leg == legServer {
		conn = s.server
	}
	h, err := s.cfg.Park.Park(conn, l.resume[leg])
	if err != nil {
		s.log.Debug("cannot park the session's loop; it stays on its goroutine", "err", err.Error())
		return false
	}
	l.parked[leg] = h
	return true
}

// resumed forgets the handle of a loop the poller started again.
func (s *Session) resumed(leg int) {
	s.loops.mu.Lock()
	s.loops.parked[leg] = nil
	s.loops.mu.Unlock()
}

// unpark starts the parked loops again when the session ends (ctx is done, so they end at
// once): closing a parked leg wakes nothing.
func (s *Session) unpark() {
	l := &s.loops
	var again []func()
	l.mu.Lock()
	for leg, h := range l.parked {
		if h != nil && h.Release() {
			again = append(again, l.resume[leg])
		}
		l.parked[leg] = nil
	}
	l.mu.Unlock()
	for _, f := range again {
		go f()
	}
}
