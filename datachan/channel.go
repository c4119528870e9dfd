package datachan

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/intercept"
	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/wire"
)

// ErrClosed ends a data channel that was superseded or whose session ended.
var ErrClosed = errors.New("datachan: data channel closed")

// ErrAborted ends the data channel of a transfer the client aborted (ABOR).
var ErrAborted = errors.New("datachan: transfer aborted")

// Result is what a channel carried: the byte counts of the transfer record, the TLS of each
// leg, and why it failed.
type Result struct {
	ToClient, ToServer int64
	// TLS describes each leg's TLS, the zero TLSInfo for a plain leg (indexed by Side).
	TLS [2]TLSInfo
	// Err is the first failure of the channel (nil when it carried its data cleanly).
	Err error
	// Arrived: some data connection came or was made.
	Arrived bool
	// Path is the path the bytes took: PathKernel or PathProxy.
	Path string
	// SHA256 is the hex SHA-256 of the bytes that passed in the transfer's direction, when
	// the path hashed them ([Hashed]); "" otherwise.
	SHA256 string
	// Conns names each leg's connection, "from -> to" (indexed by Side); the kernel path's
	// one connection is the pinhole's, on the client leg.
	Conns [2]string
	// Verdicts are the hooks' verdicts on the transfer's object (observe and inspect
	// modes); Refused says the object did not pass (inspect mode), Received how many bytes
	// ftpgate read of it (the byte counts above are what it delivered).
	Verdicts []inspect.Verdict
	Refused  bool
	Received int64
	// Chunked: the transfer passed chunk hooks, which may have changed it; ReceivedSHA256
	// is then the digest of the Received bytes, as the sending side sent them (SHA256 is
	// of what was delivered).
	Chunked        bool
	ReceivedSHA256 string
	// Packets is the packet filter's account of a kernel path channel under it (nil
	// otherwise).
	Packets *pktfilter.Stats
}

// Channel is one negotiated data channel: each leg is a Listen or a Connect, in any of the
// four combinations (Zorp's data_mode falls out of it), and the two are joined once both are
// up and Activate has said which way the data flows. Each direction reports its byte count
// when it ends, so a transfer's Result is final as soon as the direction it used is done.
type Channel struct {
	set    *Set
	legs   [2]Leg
	ports  []uint16 // reserved for the channel, released on close
	path   Path
	ctx    context.Context // the channel's, cancelled when it closes
	parent context.Context // the session's, which ctx derives from
	cancel context.CancelFunc

	mu        sync.Mutex
	conns     [2]net.Conn
	dialing   [2]bool
	claimed   [2]bool // a connection came for the listening leg (its expectation is used up)
	dir       wire.Direction
	activated bool
	started   bool
	closed    bool
	res       Result

	clientDone, serverDone chan struct{} // closed when bytes toward the client / server are final
	clientOnce, serverOnce sync.Once

	obj         inspect.Object   // the transfer's metadata, for the hooks (guarded by mu)
	held        *heldUpload      // an upload held back from the server (ActivateHeld; guarded by mu)
	kernel      *KernelSpec      // the kernel path's pinhole; nil for a channel through ftpgate
	handle      kpath.Handle     // the open pinhole (guarded by mu)
	hurry       chan struct{}    // Hurry to watchKernel
	meter       meter            // the live byte counts (Progress)
	cut         bool             // Close cuts the kernel path's connection, as for ABOR (Set.Reset; guarded by mu)
	pjudge      *pktfilter.Judge // the packet filter's judge of the kernel path's connection (guarded by mu)
	unqueue     func()           // forgets pjudge's registration with the queue (guarded by mu)
	packetsDone bool             // endPackets ran (guarded by mu)
	judgeAsked  time.Time        // when packetsJudged was first asked (guarded by mu)
}

// install adds the expectations of the listening legs.
func (ch *Channel) install() error {
	for sd := ClientLeg; sd <= ServerLeg; sd++ {
		l := ch.legs[sd]
		if !l.Listen {
			continue
		}
		if err := ch.set.cfg.Expect.Expect(ch.ctx, ch.set.owner(sd), l.Expect, func(c *net.TCPConn) { ch.arrive(sd, c) }); err != nil {
			ch.Close(err)
			return err
		}
	}
	return nil
}

// arrive takes a connection that came in for a listening leg.
func (ch *Channel) arrive(sd Side, raw *net.TCPConn) {
	ch.mu.Lock()
	ch.claimed[sd] = true // the registry has let go of the leg's expectation
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
	ch.set.log.Debug("data connection arrived", "leg", sd.String(), "src", intercept.AddrPort(c.RemoteAddr()).String(), "dst", intercept.AddrPort(c.LocalAddr()).String())
	// A peer that connected is ready: connect the other leg now (the keep modes) rather than
	// only when the transfer command passes; not where an upload may be held back from the
	// server, which must see nothing of a refused one.
	if !ch.mayHold() {
		ch.dialPending()
	}
	ch.join()
}

// Activate records the direction of the transfer that uses the channel, once its command
// was forwarded, and connects the legs that connect.
func (ch *Channel) Activate(dir wire.Direction) {
	ch.mu.Lock()
	ch.dir, ch.activated = dir, true
	closed := ch.closed
	ch.mu.Unlock()
	if ch.kernel != nil {
		if !closed {
			ch.activatePackets(dir)
			ch.set.spawn(ch.watchKernel)
		}
		return
	}
	ch.dialPending()
	ch.join()
}

// dialPending starts the connection of every connecting leg not yet connected.
func (ch *Channel) dialPending() {
	for sd := ClientLeg; sd <= ServerLeg; sd++ {
		ch.mu.Lock()
		start := !ch.legs[sd].Listen && !ch.dialing[sd] && !ch.closed && !(sd == ServerLeg && ch.holdsServer())
		ch.dialing[sd] = ch.dialing[sd] || start
		ch.mu.Unlock()
		if start {
			ch.set.spawn(func() { ch.dial(sd) })
		}
	}
}

// dial connects a connecting leg.
func (ch *Channel) dial(sd Side) {
	l := ch.legs[sd]
	dctx, cancel := context.WithTimeout(ch.ctx, ch.set.cfg.ConnectTimeout)
	var (
		raw *net.TCPConn
		err error
	)
	if pd, ok := ch.set.cfg.Dialer.(PortDialer); ok && l.FromPort != 0 {
		raw, err = pd.DialPort(dctx, netip.AddrPortFrom(l.From, l.FromPort), l.To)
	} else {
		raw, err = ch.set.cfg.Dialer.Dial(dctx, l.From, l.To)
	}
	cancel()
	if err != nil {
		ch.set.log.Warn("data connection: cannot connect", "leg", sd.String(), "to", l.To.String(), "err", err.Error())
		ch.Close(err)
		return
	}
	if _, ok := ch.take(sd, raw); !ok {
		return
	}
	ch.set.log.Debug("data connection made", "leg", sd.String(), "to", l.To.String())
	ch.join()
}

// take secures a leg's new connection (TLS when the leg says so) and stores it; false when
// the handshake failed (the channel is closed) or the leg is taken already.
func (ch *Channel) take(sd Side, raw *net.TCPConn) (net.Conn, bool) {
	var (
		c    net.Conn = raw
		desc TLSInfo
	)
	if ch.legs[sd].TLS {
		// A server leg's handshake is not cut short when the channel closes (the client
		// leg's TLS was refused, say): some servers (vsftpd) end the whole session, with a
		// plain-text "500 OOPS" on the TLS control connection, when a data handshake is
		// torn mid-way. It ends with the session, or the connect timeout, and the
		// connection is then closed cleanly below.
		hctx := ch.ctx
		if sd == ServerLeg {
			hctx = ch.parent
		}
		var err error
		if c, desc, err = ch.set.peer.Secure(hctx, sd, raw); err != nil {
			ch.set.log.Warn("data connection: TLS failed", "leg", sd.String(), "err", err.Error())
			raw.Close()
			ch.Close(err)
			return nil, false
		}
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed || ch.conns[sd] != nil {
		// Reset, not closed: an orderly end would tell the peer its transfer was empty.
		raw.SetLinger(0)
		c.Close()
		return nil, false
	}
	ch.conns[sd] = c
	if sd == ServerLeg && ch.held != nil {
		ch.held.upOnce.Do(func() { close(ch.held.serverUp) })
	}
	from, to := raw.RemoteAddr(), raw.LocalAddr()
	if !ch.legs[sd].Listen {
		from, to = to, from
	}
	ch.res.Conns[sd] = from.String() + " -> " + to.String()
	// Bulk data: Nagle on (Go turns it off for every TCP connection). Spliced writes then
	// leave in full segments instead of one per chunk the sender wrote; STOR through ftpgate
	// went from about 0.5 to 0.7–1.0 of forwarding's speed with this (make bench). The last
	// partial segment leaves with the FIN.
	raw.SetNoDelay(false)
	ch.res.TLS[sd] = desc
	ch.res.Arrived = true
	return c, true
}

// join starts the path once both legs are up and the direction is known.
func (ch *Channel) join() {
	ch.mu.Lock()
	// A held upload starts with its client leg alone; its server leg comes after Release.
	ready := !ch.closed && !ch.started && ch.activated && ch.conns[ClientLeg] != nil && (ch.conns[ServerLeg] != nil || ch.held != nil)
	if ready {
		ch.started = true
	}
	cc, sc, dir := ch.conns[ClientLeg], ch.conns[ServerLeg], ch.dir
	ch.mu.Unlock()
	if ready {
		ch.set.spawn(func() { ch.carry(cc, sc, dir) })
	}
}

// carry moves the bytes along the channel's path, then closes the channel and tells the
// session.
func (ch *Channel) carry(cc, sc net.Conn, dir wire.Direction) {
	var err error
	ch.mu.Lock()
	held := ch.held != nil
	ch.mu.Unlock()
	if held {
		err = ch.carryHeld(ch.ctx, cc)
	} else if mode := ch.inspectMode(dir); mode != inspect.ModeNone {
		err = ch.carryInspected(ch.ctx, cc, sc, dir, mode)
	} else {
		_, err = carryCounted(ch.ctx, ch.path, cc, sc, dir, ch.half, &ch.meter)
	}
	if err != nil {
		if errors.Is(err, ErrWrongDirection) {
			ch.set.log.Warn("data connection closed: bytes against the transfer's direction", "direction", dir.String(), "err", err.Error())
		}
		ch.mu.Lock()
		if ch.res.Err == nil {
			ch.res.Err = err
		}
		ch.mu.Unlock()
	}
	ch.Close(nil)
	ch.set.peer.Relayed(ch)
}

// half records the end of one direction, and its digest when it is the transfer's own.
func (ch *Channel) half(toServer bool, n int64, sum []byte) {
	ch.mu.Lock()
	if toServer {
		ch.res.ToServer = n
	} else {
		ch.res.ToClient = n
	}
	if sum != nil && ch.dir != wire.NoData && (ch.dir == wire.Upload) == toServer {
		ch.res.SHA256 = hex.EncodeToString(sum)
	}
	ch.mu.Unlock()
	if toServer {
		ch.serverOnce.Do(func() { close(ch.serverDone) })
	} else {
		ch.clientOnce.Do(func() { close(ch.clientDone) })
	}
}

// closeLeg withdraws a listening leg's expectation that was not used, and resets the leg's
// connection unless a path owns it (started).
func (ch *Channel) closeLeg(sd Side, c net.Conn, started, claimed bool) {
	// A claimed expectation is gone already; withdrawing its key again could remove the
	// next channel's, when the server gave the same port again (seen under load in make
	// bench: the client's next data connection was refused as unexpected).
	if ch.legs[sd].Listen && !claimed {
		ch.set.cfg.Expect.Withdraw(context.WithoutCancel(ch.ctx), ch.set.owner(sd), ch.legs[sd].Expect)
	}
	if c != nil && !started {
		if t := tcpOf(c); t != nil {
			t.SetLinger(0)
		}
		c.Close()
	}
}

// Close ends the channel: expectations removed, connections closed (unless the path owns
// them), ports released. err, if not nil, is kept for the Result. Closing twice is harmless.
func (ch *Channel) Close(err error) {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.closed = true
	if ch.res.Err == nil && err != nil {
		ch.res.Err = err
	}
	conns, started, claimed, cut := ch.conns, ch.started, ch.claimed, ch.cut
	ch.mu.Unlock()
	ch.cancel()
	for sd := ClientLeg; sd <= ServerLeg; sd++ {
		ch.closeLeg(sd, conns[sd], started, claimed[sd])
	}
	for _, p := range ch.ports {
		ch.set.cfg.Ports.Release(p)
	}
	if ch.kernel != nil {
		ch.mu.Lock()
		h := ch.handle
		ch.mu.Unlock()
		if h.Mark != 0 { // an unused pinhole closes; a connection that used it goes on...
			ch.set.cfg.Kernel.Cancel(context.WithoutCancel(ch.ctx), ch.set.cfg.Owner, h)
			if errors.Is(err, ErrAborted) || cut { // ...unless the transfer was aborted or the session killed
				if cerr := ch.set.cfg.Kernel.Cut(context.WithoutCancel(ch.ctx), h); cerr != nil {
					ch.set.log.Warn("kernel path: cut an aborted transfer's connection", "err", cerr.Error())
				}
			}
		}
	}
	if !started { // no path ran: the counts are final as they are (0, or the kernel's)
		ch.mu.Lock()
		toServer, toClient := ch.res.ToServer, ch.res.ToClient
		ch.mu.Unlock()
		toServer, toClient = ch.endPackets(toServer, toClient)
		ch.half(true, toServer, nil)
		ch.half(false, toClient, nil)
	}
}

// Done returns a channel that is closed when the bytes a transfer in direction dir moves
// are final.
func (ch *Channel) Done(dir wire.Direction) <-chan struct{} {
	if dir == wire.Upload {
		return ch.serverDone
	}
	return ch.clientDone
}

// Result returns what the channel carried so far (with the packet filter's account so far,
// when the channel has not ended yet).
func (ch *Channel) Result() Result {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	res := ch.res
	if res.Packets == nil && ch.pjudge != nil {
		st := ch.pjudge.Stats()
		res.Packets = &st
	}
	return res
}
