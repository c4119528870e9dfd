package kpath

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/ftpgate/ftpgate/nft"
	"github.com/ti-mo/conntrack"
)

// Cut gives the connection that used h the mark nft.CutMark, which ftpgate's cut chain
// answers with a TCP reset on every further packet, so both ends stop at once (see Kernel).
func (k *Conntrack) Cut(ctx context.Context, h Handle) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ct == nil {
		return errors.New("kpath: not set up")
	}
	flows, err := k.connectionsLocked(h, true)
	if err != nil {
		return fmt.Errorf("kpath: cut the connection of %v: %w", h.Pinhole, err)
	}
	for _, f := range flows {
		err := k.ct.Update(conntrack.Flow{TupleOrig: f.TupleOrig, TupleReply: f.TupleReply, Mark: nft.CutMark})
		if err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("kpath: cut the connection of %v: %w", h.Pinhole, err)
		}
	}
	return nil
}

// Flow reports the connection that used h: the expected entry with h's mark.
func (k *Conntrack) Flow(ctx context.Context, h Handle) (Flow, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ct == nil {
		return Flow{}, errors.New("kpath: not set up")
	}
	flows, err := k.connectionsLocked(h, false)
	if err != nil {
		return Flow{}, fmt.Errorf("kpath: read the connection of %v: %w", h.Pinhole, err)
	}
	if len(flows) == 0 {
		return Flow{}, nil
	}
	f := flows[0]
	v4 := h.Pinhole.Src.Is4()
	fl := Flow{Seen: true,
		FromSrc: Payload(int64(f.CountersOrig.Bytes), int64(f.CountersOrig.Packets), v4),
		ToSrc:   Payload(int64(f.CountersReply.Bytes), int64(f.CountersReply.Packets), v4)}
	fl.Closed = f.Status&conntrack.StatusDying != 0 || f.ProtoInfo.TCP != nil && f.ProtoInfo.TCP.State >= tcpFinWait
	return fl, nil
}

// connectionsLocked returns the connection that used h (none if none did), read by its
// tuple when conntrack's events told it. Otherwise it is looked for in a dump of the
// conntrack table filtered by h's mark: when events may have been lost since the pinhole
// opened, or always if dump is set (a connection so new that its event is still on the way).
func (k *Conntrack) connectionsLocked(h Handle, dump bool) ([]conntrack.Flow, error) {
	if k.kids != nil {
		c, found, trusted := k.kids.lookup(h.Mark, h.gen)
		switch {
		case found:
			f, err := k.ct.Get(conntrack.Flow{TupleOrig: c.orig, TupleReply: c.reply})
			switch {
			case errors.Is(err, syscall.ENOENT) && c.last != nil: // gone: closed long ago, or removed
				last := *c.last
				last.Status |= conntrack.StatusDying
				return []conntrack.Flow{last}, nil
			case errors.Is(err, syscall.ENOENT):
				return nil, nil
			case err != nil:
				return nil, err
			}
			k.kids.seen(h.Mark, f)
			return []conntrack.Flow{f}, nil
		case trusted && !dump:
			return nil, nil
		}
	}
	all, err := k.ct.DumpFilter(conntrack.NewFilter().Mark(h.Mark).MarkMask(^nft.QueueFlagsMask), nil)
	if err != nil {
		return nil, err
	}
	var flows []conntrack.Flow
	for _, f := range all {
		if f.Status&conntrack.StatusExpected != 0 && f.TupleOrig.Proto.DestinationPort == h.Pinhole.Port {
			flows = append(flows, f)
		}
	}
	return flows, nil
}

// Requeue gives the master of h (while it is still the owner's) and the connection that used
// it the queue flags queue in place of their present ones (see Kernel).
func (k *Conntrack) Requeue(ctx context.Context, owner uint64, h Handle, queue uint32) error {
	if queue&^nft.QueueFlagsMask != 0 {
		return fmt.Errorf("kpath: requeue %v: flags %#x outside %#x", h.Pinhole, queue, nft.QueueFlagsMask)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ct == nil {
		return errors.New("kpath: not set up")
	}
	mark := identity(h.Mark) | queue
	// The master first: a connection that comes from now on inherits the new flags.
	if m, ok := k.owners[owner]; ok && identity(m.mark) == identity(h.Mark) {
		reply := tuple(m.orig.IP.DestinationAddress, m.orig.IP.SourceAddress, m.orig.Proto.DestinationPort, 0)
		err := k.ct.Update(conntrack.Flow{TupleOrig: m.orig, TupleReply: reply, Mark: mark})
		if err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("kpath: requeue the master of %v: %w", h.Pinhole, err)
		}
		m.mark = mark
		k.owners[owner] = m
	}
	flows, err := k.connectionsLocked(h, true)
	if err != nil {
		return fmt.Errorf("kpath: requeue the connection of %v: %w", h.Pinhole, err)
	}
	for _, f := range flows {
		if f.Mark&nft.KernelMarkMask != nft.KernelMark {
			continue // cut meanwhile: it keeps the cut mark
		}
		err := k.ct.Update(conntrack.Flow{TupleOrig: f.TupleOrig, TupleReply: f.TupleReply, Mark: mark})
		if err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("kpath: requeue the connection of %v: %w", h.Pinhole, err)
		}
	}
	return nil
}
