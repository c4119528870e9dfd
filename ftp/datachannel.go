package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/wire"
)

// side names the two legs of a data channel.
type side int

const (
	clientSide side = iota
	serverSide
)

func (sd side) String() string {
	if sd == clientSide {
		return "client"
	}
	return "server"
}

// leg is one side of a data channel: either ftpgate listens (an expectation: the peer
// connects, the connection arrives through the data listener) or ftpgate connects.
type leg struct {
	listen bool
	key    datachan.Key   // listen: the element that admits the peer's connection
	to     netip.AddrPort // connect: where to
	from   netip.Addr     // connect: from which address (invalid: the box's own)
	port   uint16         // connect: from which port (0: any)
	prot   bool           // TLS on this leg (its PROT P)
}

// dataChannel is one negotiated data channel (Zorp's data_mode falls out of it): each leg
// is a Listen or a Connect, in any combination, and the two are joined once both are up and
// the transfer command has said which way the data flows. Each direction reports its byte
// count when it ends, so a transfer record is final as soon as the direction the transfer
// used is done.
type dataChannel struct {
	s      *Session
	legs   [2]leg
	ports  []uint16 // reserved from the session's allocator, released on close
	cancel context.CancelFunc
	ctx    context.Context // the channel's, cancelled when it closes
	sess   context.Context // the session's

	mu        sync.Mutex
	conns     [2]net.Conn
	dialing   [2]bool
	dir       wire.Direction
	activated bool
	started   bool
	closed    bool
	arrived   bool // some connection came or was made: a transfer record waits for it
	toClient  int64
	toServer  int64
	err       error
	x         *transfer // the transfer command that uses the channel
	tlsDesc   [2]string // per leg: "TLS1.3 TLS_AES_128_GCM_SHA256", or "" for plain

	clientDone, serverDone chan struct{} // closed when bytes toward the client / server are final
	clientOnce, serverOnce sync.Once
}

// errChannelClosed ends a data channel that was superseded, aborted or whose session ended.
var errChannelClosed = errors.New("ftp: data channel closed")

func (s *Session) newChannel(ctx context.Context, client, server leg) *dataChannel {
	s.mu.Lock()
	client.prot, server.prot = s.tls.clientProt, s.tls.serverProt
	s.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	return &dataChannel{
		s: s, legs: [2]leg{client, server}, ctx: cctx, cancel: cancel, sess: ctx,
		clientDone: make(chan struct{}), serverDone: make(chan struct{}),
	}
}

// owner is the registry owner of a leg's expectation: a session may wait for two
// connections at once (both legs listening).
func (s *Session) owner(sd side) uint64 { return s.ID<<1 | uint64(sd) }

// open installs the expectations of the listening legs.
func (ch *dataChannel) open() error {
	for sd := clientSide; sd <= serverSide; sd++ {
		l := ch.legs[sd]
		if !l.listen {
			continue
		}
		sd := sd
		if err := ch.s.data.Expect(ch.ctx, ch.s.owner(sd), l.key, func(c *net.TCPConn) { ch.arrive(sd, c) }); err != nil {
			ch.close(err)
			return err
		}
	}
	return nil
}

// arrive takes a connection that came in for a listening leg.
func (ch *dataChannel) arrive(sd side, raw *net.TCPConn) {
	ch.mu.Lock()
	taken := ch.closed || ch.conns[sd] != nil
	ch.mu.Unlock()
	if taken {
		raw.SetLinger(0)
		raw.Close()
		return
	}
	c, ok := ch.take(sd, raw)
	if !ok {
		return
	}
	ch.s.log.Debug("data connection arrived", "leg", sd.String(), "src", addrPort(c.RemoteAddr()).String(), "dst", addrPort(c.LocalAddr()).String())
	// A peer that connected is ready: connect the other leg now (the keep modes) rather than
	// only when the transfer command passes.
	ch.dialPending()
	ch.join()
}

// activate records the transfer's direction once its command was forwarded, and connects
// the legs that connect.
func (ch *dataChannel) activate(dir wire.Direction) {
	ch.mu.Lock()
	ch.dir, ch.activated = dir, true
	ch.mu.Unlock()
	ch.dialPending()
	ch.join()
}

// dialPending starts the connection of every connecting leg not yet connected.
func (ch *dataChannel) dialPending() {
	for sd := clientSide; sd <= serverSide; sd++ {
		l := ch.legs[sd]
		ch.mu.Lock()
		start := !l.listen && !ch.dialing[sd] && !ch.closed
		ch.dialing[sd] = ch.dialing[sd] || start
		ch.mu.Unlock()
		if start {
			ch.s.goData(func() { ch.dial(sd) })
		}
	}
}

// dial connects a connecting leg.
func (ch *dataChannel) dial(sd side) {
	l := ch.legs[sd]
	dctx, cancel := context.WithTimeout(ch.ctx, ch.s.cfg.ConnectTimeout)
	var (
		raw *net.TCPConn
		err error
	)
	if pd, ok := ch.s.dialer.(PortDialer); ok && l.port != 0 {
		raw, err = pd.DialPort(dctx, netip.AddrPortFrom(l.from, l.port), l.to)
	} else {
		raw, err = ch.s.dialer.Dial(dctx, l.from, l.to)
	}
	cancel()
	if err != nil {
		ch.s.log.Warn("data connection: cannot connect", "leg", sd.String(), "to", l.to.String(), "err", err.Error())
		ch.close(err)
		return
	}
	if _, ok := ch.take(sd, raw); !ok {
		return
	}
	ch.s.log.Debug("data connection made", "leg", sd.String(), "to", l.to.String())
	ch.join()
}

// take secures a leg's new connection (TLS when its PROT says so) and stores it; false when
// the handshake failed (the channel is closed) or the leg is taken already.
func (ch *dataChannel) take(sd side, raw *net.TCPConn) (net.Conn, bool) {
	c, err := ch.s.secure(ch.ctx, sd, raw, ch.legs[sd].prot)
	if err != nil {
		ch.s.log.Warn("data connection: TLS failed", "leg", sd.String(), "err", err.Error())
		raw.Close()
		ch.close(err)
		return nil, false
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed || ch.conns[sd] != nil {
		c.Close()
		return nil, false
	}
	ch.conns[sd] = c
	ch.tlsDesc[sd] = describeTLS(c)
	ch.arrived = true
	return c, true
}

// join starts the relay once both legs are up and the direction is known.
func (ch *dataChannel) join() {
	ch.mu.Lock()
	ready := !ch.closed && !ch.started && ch.activated && ch.conns[clientSide] != nil && ch.conns[serverSide] != nil
	if ready {
		ch.started = true
	}
	cc, sc, dir := ch.conns[clientSide], ch.conns[serverSide], ch.dir
	ch.mu.Unlock()
	if !ready {
		return
	}
	rdir := datachan.Both
	switch dir {
	case wire.Download:
		rdir = datachan.BToA
	case wire.Upload:
		rdir = datachan.AToB
	}
	ch.s.goData(func() {
		_, err := datachan.Relay(ch.ctx, cc, sc, rdir, ch.half)
		if err != nil {
			if errors.Is(err, datachan.ErrWrongDirection) {
				ch.s.log.Warn("data connection closed: bytes against the transfer's direction", "direction", dir.String(), "err", err.Error())
			}
			ch.mu.Lock()
			if ch.err == nil {
				ch.err = err
			}
			ch.mu.Unlock()
		}
		ch.close(nil)
		ch.mu.Lock()
		x := ch.x
		ch.mu.Unlock()
		if x != nil {
			ch.s.awaitFinal(ch.sess, x)
		}
	})
}

// bind records the transfer that uses the channel.
func (ch *dataChannel) bind(x *transfer) {
	ch.mu.Lock()
	ch.x = x
	ch.mu.Unlock()
}

// half records the end of one relay direction (a is the client leg, b the server leg).
func (ch *dataChannel) half(aToB bool, n int64) {
	ch.mu.Lock()
	if aToB {
		ch.toServer = n
	} else {
		ch.toClient = n
	}
	ch.mu.Unlock()
	if aToB {
		ch.serverOnce.Do(func() { close(ch.serverDone) })
	} else {
		ch.clientOnce.Do(func() { close(ch.clientDone) })
	}
}

// close ends the channel: expectations removed, connections closed, ports released. err, if
// not nil, is kept for the transfer record. Closing twice is harmless.
func (ch *dataChannel) close(err error) {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.closed = true
	if ch.err == nil && err != nil {
		ch.err = err
	}
	conns := ch.conns
	started := ch.started
	ch.mu.Unlock()
	ch.cancel()
	for sd := clientSide; sd <= serverSide; sd++ {
		if ch.legs[sd].listen {
			ch.s.data.Withdraw(context.WithoutCancel(ch.ctx), ch.s.owner(sd), ch.legs[sd].key)
		}
		if c := conns[sd]; c != nil && !started {
			if t, ok := c.(*net.TCPConn); ok {
				t.SetLinger(0)
			}
			c.Close()
		}
	}
	for _, p := range ch.ports {
		ch.s.cfg.Ports.Release(p)
	}
	if !started {
		ch.half(true, 0)
		ch.half(false, 0)
	}
}

// doneFor returns the channel closed when the bytes a transfer in direction dir moves are final.
func (ch *dataChannel) doneFor(dir wire.Direction) <-chan struct{} {
	if dir == wire.Upload {
		return ch.serverDone
	}
	return ch.clientDone
}

// describeTLS names the TLS version and cipher of c, or "" when c is plain.
func describeTLS(c net.Conn) string {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return ""
	}
	v, cipher := ftptls.Describe(tc.ConnectionState())
	return v + " " + cipher
}
