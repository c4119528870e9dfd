package datachan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/wire"
)

// ErrFiltered ends a kernel path transfer the packet filter stopped (a pattern, the size
// cap, a callback's reject, or a failed callback under fail-closed): its connection was
// reset at the box.
var ErrFiltered = errors.New("datachan: stopped by the packet filter")

// ErrNoPacketQueue refuses a kernel path channel whose policy has a packet filter when the
// gateway reads no packet filter queue: it is not opened unfiltered, neither on the kernel
// path nor through ftpgate.
var ErrNoPacketQueue = errors.New("datachan: the policy's packet filter has no queue (the nftables table has no queue chain)")

// PacketFilter puts a session's kernel path channels under the packet filter: each
// channel's packets go to the queue, where a judge of its own decides on them.
type PacketFilter struct {
	Settings pktfilter.Settings
	Queue    *pktfilter.Queue
	// Digest asks for the SHA-256 of the transfer's bytes (transfer_hash: sha256).
	Digest bool
	// Session and User are the session's metadata for the callback.
	Session uint64
	User    func() string
}

// judgeLinger is how long a closed channel's judge stays with the queue: retransmissions
// and the last acknowledgements of its connection may still come (TCP's TIME_WAIT is about
// as long), and they must meet the filter, not the verdict for unknown packets.
const judgeLinger = 2 * time.Minute

// packets returns the session's packet filter, nil when it has none.
func (s *Set) packets() *PacketFilter {
	if p := s.cfg.Packets; p != nil && p.Settings.Enabled && p.Queue != nil {
		return p
	}
	return nil
}

// queueFlags are the queue flags of a new pinhole: both directions until the transfer says
// which one carries its bytes.
func (s *Set) queueFlags() uint32 {
	p := s.packets()
	if p == nil {
		return 0
	}
	flags := nft.QueueOriginal | nft.QueueReply
	if p.Settings.Bypass {
		flags |= nft.QueueBypass
	}
	return flags
}

// startPackets gives the channel whose pinhole h just opened its judge.
func (ch *Channel) startPackets(h kpath.Handle) {
	p := ch.set.packets()
	if p == nil {
		return
	}
	meta := pktfilter.Meta{Session: p.Session}
	if p.User != nil {
		meta.User = p.User()
	}
	j := pktfilter.NewJudge(p.Settings, meta, ch.kernel.SrcIsClient, p.Digest)
	remove := p.Queue.Add(pktfilter.Pinhole{Src: h.Pinhole.Src, Dst: h.Pinhole.Dst, Port: h.Pinhole.Port}, j, ch.packetStop)
	ch.mu.Lock()
	ch.pjudge, ch.unqueue = j, remove
	ch.mu.Unlock()
}

// activatePackets tells the judge the transfer, and narrows the queue to the direction its
// bytes take (scope data).
func (ch *Channel) activatePackets(dir wire.Direction) {
	ch.mu.Lock()
	j, h, obj := ch.pjudge, ch.handle, ch.obj
	ch.mu.Unlock()
	if j == nil || (dir != wire.Upload && dir != wire.Download) {
		return
	}
	toClient := dir == wire.Download
	j.Transfer(pktfilter.Meta{Session: obj.Session, User: obj.User, Command: obj.Command, Arg: obj.Arg,
		Rest: obj.Rest, Type: obj.Type, Direction: obj.Direction()}, toClient)
	s := j.Settings()
	if s.Scope != pktfilter.ScopeData {
		return
	}
	// The pinhole's source is the client in passive mode: the client's bytes go in the
	// original direction then.
	flags := nft.QueueOriginal
	if toClient == ch.kernel.SrcIsClient {
		flags = nft.QueueReply
	}
	if s.Bypass {
		flags |= nft.QueueBypass
	}
	if err := ch.set.cfg.Kernel.Requeue(context.WithoutCancel(ch.ctx), ch.set.cfg.Owner, h, flags); err != nil {
		ch.set.log.Warn("packet filter: narrowing to the transfer's direction", "pinhole", h.Pinhole.String(), "err", err.Error())
	}
}

// packetStop is the judge's word that the transfer must stop: the Result says why at once,
// and the connection is cut at the box (its sender is reset at its next packet; the queue
// resets its receiver).
func (ch *Channel) packetStop(reason string) {
	ch.mu.Lock()
	if ch.res.Err == nil {
		ch.res.Err = fmt.Errorf("%w: %s", ErrFiltered, reason)
	}
	h := ch.handle
	ch.mu.Unlock()
	ch.set.log.Warn("packet filter stopped a transfer", "pinhole", h.Pinhole.String(), "reason", reason)
	go func() { // the queue's reader waits for this function
		if err := ch.set.cfg.Kernel.Cut(context.WithoutCancel(ch.parent), h); err != nil {
			ch.set.log.Warn("packet filter: cut the stopped transfer's connection", "err", err.Error())
		}
		ch.Hurry()
	}()
}

// packetsJudged reports whether the packet filter has judged the connection's last bytes
// (true without a filter). It waits at most judgeWait after it is first asked: a filter that
// never saw the end (a FIN that passed unjudged) leaves the record without its digest.
func (ch *Channel) packetsJudged() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.pjudge == nil || ch.pjudge.Complete() {
		return true
	}
	if ch.judgeAsked.IsZero() {
		ch.judgeAsked = time.Now()
	}
	return time.Since(ch.judgeAsked) > judgeWait
}

// judgeWait bounds the wait for the filter's last verdicts once the kernel saw the end.
const judgeWait = 5 * time.Second

// endPackets puts the judge's account in the Result, once, and has the queue forget the
// connection after judgeLinger. toServer and toClient are the kernel's counts; it returns
// them with the filter's exact count of the transfer's direction when it saw every byte.
func (ch *Channel) endPackets(toServer, toClient int64) (int64, int64) {
	ch.mu.Lock()
	j, remove, done := ch.pjudge, ch.unqueue, ch.packetsDone
	ch.packetsDone = true
	ch.mu.Unlock()
	if j == nil || done {
		return toServer, toClient
	}
	j.Finish()
	st := j.Stats()
	ch.mu.Lock()
	ch.res.Packets = &st
	if st.SHA256 != "" && st.Stopped == "" && (ch.dir == wire.Upload || ch.dir == wire.Download) {
		ch.res.SHA256 = st.SHA256
		if ch.dir == wire.Upload {
			toServer = st.DataBytes
		} else {
			toClient = st.DataBytes
		}
		ch.res.ToServer, ch.res.ToClient = toServer, toClient
	}
	ch.mu.Unlock()
	time.AfterFunc(judgeLinger, remove)
	return toServer, toClient
}
