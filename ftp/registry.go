package ftp

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrNoSession is the error of a Kill whose session is not (or no longer) live.
var ErrNoSession = errors.New("ftp: no such session")

// Registry holds the live sessions, for the session listing and Kill. Its lock guards only
// the map: a snapshot copies the sessions out and asks each for its Info without it.
// The zero Registry is ready to use.
type Registry struct {
	mu   sync.Mutex
	live map[uint64]*Session
}

// Add registers a session that is starting.
func (r *Registry) Add(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = make(map[uint64]*Session)
	}
	r.live[s.ID] = s
}

// Remove forgets a session that has ended.
func (r *Registry) Remove(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, id)
}

// Len reports how many sessions are registered.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

// Snapshot describes every live session, by id.
func (r *Registry) Snapshot() []SessionInfo {
	r.mu.Lock()
	ss := make([]*Session, 0, len(r.live))
	for _, s := range r.live {
		ss = append(ss, s)
	}
	r.mu.Unlock()
	out := make([]SessionInfo, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.Info())
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Kill ends the live session id (see [Session.Kill]); by names who asked, for the logs.
// An id that is not live is ErrNoSession.
func (r *Registry) Kill(id uint64, by string) error {
	r.mu.Lock()
	s := r.live[id]
	r.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w: %d", ErrNoSession, id)
	}
	s.Kill(by)
	return nil
}

// End ends the live session id gently (see [Session.End]); an id that is not live is
// ErrNoSession.
func (r *Registry) End(id uint64, by string) error {
	r.mu.Lock()
	s := r.live[id]
	r.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w: %d", ErrNoSession, id)
	}
	s.End(by)
	return nil
}
