package ftp

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/datachan"
)

// Direction is the way a transfer command moves data.
type Direction string

// The directions of transfer commands.
const (
	Download Direction = "download" // server to client: RETR, LIST, NLST, MLSD
	Upload   Direction = "upload"   // client to server: STOR, STOU, APPE
)

// dataConn is one data channel: the expectation a PASV/EPSV/PORT/EPRT opened and, once the
// connection arrived, its relay. Each direction reports its byte count when it ends, so a
// transfer record is complete as soon as the direction the transfer used is done, whether or
// not the peer has closed the other direction yet.
type dataConn struct {
	fromClient bool // the expected connection comes from the client (passive mode)

	mu       sync.Mutex
	arrived  bool
	toClient int64
	toServer int64
	err      error

	clientDone, serverDone chan struct{} // closed when bytes toward the client / server are final
	clientOnce, serverOnce sync.Once
}

func newDataConn(fromClient bool) *dataConn {
	return &dataConn{fromClient: fromClient, clientDone: make(chan struct{}), serverDone: make(chan struct{})}
}

// half records the end of one relay direction; aToB is the direction from the arrived
// connection toward the dialled one.
func (d *dataConn) half(aToB bool, n int64) {
	toServer := aToB == d.fromClient
	d.mu.Lock()
	if toServer {
		d.toServer = n
	} else {
		d.toClient = n
	}
	d.mu.Unlock()
	if toServer {
		d.serverOnce.Do(func() { close(d.serverDone) })
	} else {
		d.clientOnce.Do(func() { close(d.clientDone) })
	}
}

// fail ends the data channel without a relay.
func (d *dataConn) fail(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
	d.half(true, 0)
	d.half(false, 0)
}

// doneFor returns the channel closed when the bytes a transfer in direction dir moves are final.
func (d *dataConn) doneFor(dir Direction) <-chan struct{} {
	if dir == Upload {
		return d.serverDone
	}
	return d.clientDone
}

// transfer is one transfer command on its way to its final reply.
type transfer struct {
	cmd   Command
	dir   Direction
	rest  int64
	typ   string
	user  string
	data  *dataConn
	start time.Time
	first int // first preliminary reply code, 0 if none
}

func (x *transfer) preliminary(code int) {
	if x.first == 0 {
		x.first = code
	}
}

// openData installs the expectation k for this session; the arriving connection is joined to
// its other leg and relayed.
func (s *Session) openData(ctx context.Context, k datachan.Key, fromClient bool) error {
	d := newDataConn(fromClient)
	err := s.data.Expect(ctx, s.ID, k, func(conn *net.TCPConn) { s.runData(ctx, d, conn) })
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.nextData = d
	s.mu.Unlock()
	return nil
}

// runData dials the other leg of an arrived data connection — to the address the peer meant
// to reach, from the peer's own address when spoofing — and relays until both sides close.
func (s *Session) runData(ctx context.Context, d *dataConn, in *net.TCPConn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		in.SetLinger(0)
		in.Close()
		d.fail(context.Canceled)
		return
	}
	s.dataWG.Add(1)
	s.running++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
		s.dataWG.Done()
	}()
	d.mu.Lock()
	d.arrived = true
	d.mu.Unlock()

	src, dst := addrPort(in.RemoteAddr()), addrPort(in.LocalAddr())
	var from netip.Addr
	if s.cfg.Spoof {
		from = src.Addr()
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	out, err := s.dialer.Dial(dctx, from, dst)
	cancel()
	if err != nil {
		s.log.Warn("data connection: cannot reach the other side", "src", src.String(), "dst", dst.String(), "err", err.Error())
		in.SetLinger(0)
		in.Close()
		d.fail(err)
		return
	}
	s.log.Debug("data connection joined", "src", src.String(), "dst", dst.String())
	if _, err := datachan.Relay(ctx, in, out, d.half); err != nil {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
	}
}

// beginTransfer starts the record of a transfer command, binding it to the data channel the
// last PASV/PORT opened. REST applies to this transfer only.
func (s *Session) beginTransfer(cmd Command, dir Direction) *transfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := &transfer{cmd: cmd, dir: dir, rest: s.rest, typ: s.typ, user: s.user, data: s.nextData, start: time.Now()}
	s.nextData, s.rest = nil, 0
	return x
}

// finishTransfer completes a transfer when its final reply arrives: it waits (at most the
// linger time) until the data the transfer moves has passed completely, so the client never
// sees the final reply before its data connection, then logs the transfer record. A failed
// transfer whose data connection never arrived does not wait.
func (s *Session) finishTransfer(x *transfer, code int) {
	if d := x.data; d != nil {
		d.mu.Lock()
		arrived := d.arrived
		d.mu.Unlock()
		if arrived || code < 400 {
			t := time.NewTimer(s.cfg.Linger)
			select {
			case <-d.doneFor(x.dir):
			case <-t.C:
				s.log.Warn("final reply passed on before the data connection finished", "command", x.cmd.Verb, "linger", s.cfg.Linger.String())
			}
			t.Stop()
		}
	}
	s.logTransfer(x, code)
}

func (s *Session) logTransfer(x *transfer, code int) {
	var toClient, toServer int64
	var dataErr string
	if d := x.data; d != nil {
		d.mu.Lock()
		toClient, toServer = d.toClient, d.toServer
		if d.err != nil {
			dataErr = d.err.Error()
		}
		d.mu.Unlock()
	}
	arg := x.cmd.Arg
	attrs := []any{
		"client", s.clientAddr.Addr().String(), "server", s.serverAddr.String(), "user", x.user,
		"command", x.cmd.Verb, "arg", arg, "rest", x.rest, "type", x.typ, "direction", string(x.dir),
		"bytes_to_client", toClient, "bytes_to_server", toServer,
		"duration", time.Since(x.start).Round(time.Millisecond).String(), "reply", code,
	}
	if dataErr != "" {
		attrs = append(attrs, "data_error", dataErr)
	}
	s.log.Info("transfer", attrs...)
}
