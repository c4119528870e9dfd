package datachan

// Reset makes the connections of the set's channels end with a reset when they close, as
// a killed session's do: the peers learn at once that their transfers failed, instead of
// first reading what the kernel still holds for them (megabytes, for a slow reader). Call
// it before the session's context is cancelled, which closes them.
func (s *Set) Reset() {
	s.mu.Lock()
	chans := []*Channel{s.cur, s.active}
	s.mu.Unlock()
	for _, ch := range chans {
		if ch != nil {
			ch.reset()
		}
	}
}

// reset sets SO_LINGER 0 on the channel's connections: closing them sends a reset.
func (ch *Channel) reset() {
	ch.mu.Lock()
	conns := ch.conns
	ch.mu.Unlock()
	for _, c := range conns {
		if t := tcpOf(c); t != nil {
			t.SetLinger(0)
		}
	}
}
