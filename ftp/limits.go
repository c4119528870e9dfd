package ftp

import (
	"net/netip"
	"sync"
)

// Limits bound the sessions a Server runs at once (OpenBSD ftp-proxy's -m, and per client
// address). Zero means no limit.
type Limits struct {
	// MaxSessions bounds the sessions in total.
	MaxSessions int
	// MaxPerClient bounds the sessions of one client address.
	MaxPerClient int
}

// sessionCount counts the running sessions, in total and per client address.
type sessionCount struct {
	mu     sync.Mutex
	total  int
	client map[netip.Addr]int
}

// limitHit says which limit refused a session, if any.
type limitHit int

const (
	withinLimits limitHit = iota // counted
	totalLimit                   // MaxSessions reached
	clientLimit                  // MaxPerClient reached for the client's address
)

// acquire counts a new session of client if the limits allow it; otherwise it says which
// limit refused it.
func (c *sessionCount) acquire(l Limits, client netip.Addr) limitHit {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case l.MaxSessions > 0 && c.total >= l.MaxSessions:
		return totalLimit
	case l.MaxPerClient > 0 && c.client[client] >= l.MaxPerClient:
		return clientLimit
	}
	if c.client == nil {
		c.client = make(map[netip.Addr]int)
	}
	c.total++
	c.client[client]++
	return withinLimits
}

// release forgets a session of client that acquire counted.
func (c *sessionCount) release(client netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.client[client]--; c.client[client] <= 0 {
		delete(c.client, client)
	}
}
