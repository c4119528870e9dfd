package datachan

import (
	"context"
	"time"

	"github.com/ftpgate/ftpgate/kpath"
)

// PathKernel names the kernel path in transfer records; PathProxy the path through ftpgate.
const (
	PathKernel = "kernel"
	PathProxy  = "proxy"
)

// KernelSpec is a channel on the kernel path: one pinhole in the forward path for the
// connection from Pinhole.Src to Pinhole.Dst:Port, whose bytes never enter ftpgate.
type KernelSpec struct {
	Pinhole kpath.Pinhole
	// SrcIsClient: the pinhole's source is the FTP client (passive mode), so the bytes from
	// the source go toward the server; else the server connects to the client (active).
	SrcIsClient bool
}

// installKernel opens the channel's pinhole.
func (ch *Channel) installKernel() error {
	if p := ch.set.cfg.Packets; p != nil && p.Settings.Enabled && p.Queue == nil {
		ch.Close(ErrNoPacketQueue)
		return ErrNoPacketQueue
	}
	pin := ch.kernel.Pinhole
	pin.Queue = ch.set.queueFlags()
	h, err := ch.set.cfg.Kernel.Open(ch.ctx, ch.set.cfg.Owner, pin, ch.set.cfg.PinholeTimeout)
	if err != nil {
		ch.Close(err)
		return err
	}
	ch.mu.Lock()
	ch.handle = h
	ch.mu.Unlock()
	ch.startPackets(h)
	return nil
}

// watchKernel is the goroutine of an activated kernel channel: it asks the kernel what it
// saw of the connection, soon after activation and then less and less often (2 ms doubling
// to 500 ms; at once when Hurry asks), until the connection has ended. Then the channel's
// bytes are final: it closes and tells the session.
func (ch *Channel) watchKernel() {
	wait := 2 * time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ch.ctx.Done():
			return
		case <-ch.hurry:
			wait = time.Millisecond
		case <-t.C:
		}
		if ch.pollKernel() {
			ch.Close(nil)
			ch.set.peer.Relayed(ch)
			return
		}
		wait = min(2*wait, 500*time.Millisecond)
		t.Reset(wait)
	}
}

// pollKernel reads the connection's counters into the Result and reports whether it ended.
func (ch *Channel) pollKernel() bool {
	ch.mu.Lock()
	h := ch.handle
	ch.mu.Unlock()
	fl, err := ch.set.cfg.Kernel.Flow(context.WithoutCancel(ch.ctx), h)
	if err != nil {
		ch.set.log.Warn("kernel path: read the data connection", "pinhole", h.Pinhole.String(), "err", err.Error())
		return false
	}
	if !fl.Seen {
		return false
	}
	ch.mu.Lock()
	ch.res.Arrived = true
	from, to := fl.FromSrc, fl.ToSrc
	if !ch.kernel.SrcIsClient {
		from, to = to, from
	}
	ch.res.ToServer, ch.res.ToClient = from, to
	ch.mu.Unlock()
	if fl.Closed && !ch.packetsJudged() {
		return false // the last packets are still in the filter's queue
	}
	if fl.Closed {
		from, to = ch.endPackets(from, to)
		ch.half(true, from, nil)
		ch.half(false, to, nil)
	}
	return fl.Closed
}

// Hurry asks a kernel channel to look at its connection now: the transfer's final reply
// arrived and waits for the bytes to be final. Other channels ignore it.
func (ch *Channel) Hurry() {
	if ch.kernel == nil {
		return
	}
	select {
	case ch.hurry <- struct{}{}:
	default:
	}
}
