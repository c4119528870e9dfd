package datachan

// Reset makes the connections of the set's channels end with a reset when they close, as
// a killed session's do: the peers learn at once that their transfers failed, instead of
// first reading what the kernel still holds for them (megabytes, for a slow reader); a
// channel on the kernel path has its connection cut, as for ABOR. Call it before the
// session's context is cancelled, which closes them.
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

// reset sets SO_LINGER 0 on the channel's connections, so that closing them sends a
// reset, and has Close cut a kernel path channel's connection.
func (ch *Channel) reset() {
	ch.mu.Lock()
	conns := ch.conns
	ch.cut = true
	ch.mu.Unlock()
	for _, c := range conns {
		if t := tcpOf(c); t != nil {
			t.SetLinger(0)
		}
	}
}
