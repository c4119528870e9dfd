package ftp

import (
	"context"
	"time"
)

// drainTick is how often Drain looks at the sessions.
const drainTick = 100 * time.Millisecond

// Drain ends the live sessions as they fall idle, for a stop that lets running transfers
// finish: every tick, a session that runs no transfer and has no data connection open
// (logged in and idle, or not logged in yet) is ended gently (Session.End, by "stop"), and a session whose transfer is over goes
// at the next tick. It returns when no session is left, or when ctx is done (the grace period is
// over): then it kills the sessions left, their data connections reset, and reports how
// many were still running a transfer. New sessions must
// have been stopped already (Serve's context cancelled).
func (s *Server) Drain(ctx context.Context) (busy int) {
	t := time.NewTicker(drainTick)
	defer t.Stop()
	for {
		busy = 0
		sessions := s.Snapshot()
		for _, si := range sessions {
			if si.Transfer != nil || si.DataOpen {
				busy++
				continue
			}
			s.live.End(si.ID, "stop")
		}
		if len(sessions) == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			// The grace is over: the transfers are cut (their data connections reset), so
			// that no client takes a cut transfer for a whole one.
			for _, si := range sessions {
				s.Kill(si.ID, "stop (grace over)")
			}
			return busy
		case <-t.C:
		}
	}
}
