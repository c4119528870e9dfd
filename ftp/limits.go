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

// acquire counts a new session of client if the limits allow it; otherwise it returns why
// not ("" when it counted it).
func (c *sessionCount) acquire(l Limits, client netip.Addr) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case l.MaxSessions > 0 && c.total >= l.MaxSessions:
		return "total"
	case l.MaxPerClient > 0 && c.client[client] >= l.MaxPerClient:
		return "client"
	}
	if c.client == nil {
		c.client = make(map[netip.Addr]int)
	}
	c.total++
	c.client[client]++
	return ""
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
