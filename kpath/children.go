package kpath

import (
	"fmt"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/nft"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
)

// The data connections of the kernel path are read by their tuple, one hash lookup, which
// conntrack's NEW events tell as each connection starts. Reading them by mark instead
// means a dump of the whole conntrack table: the kernel walks every bucket, those of all
// network namespaces (9 ms per dump with 262,144 buckets), and a session that waited on it
// would wait that long for every file.

// eventsReadBuffer is the receive buffer of the events socket: a burst of new connections
// on a busy box must not overflow it (an overflow costs dumps until the next pinhole).
const eventsReadBuffer = 8 << 20

// Connections are dropped when their channel is done (forget); an event that comes after
// that would stay, so once a minute, with sweepAbove or more kept, those older than
// childLife go. Sweeping starts a new generation: a transfer older than childLife is then
// found by a dump.
const (
	childLife  = time.Hour
	sweepAbove = 4096
	sweepEvery = time.Minute
)

// child is the data connection that used one pinhole.
type child struct {
	orig, reply conntrack.Tuple
	at          time.Time
	last        *conntrack.Flow // what the last lookup found, for when the entry is gone
}

// identity is the part of a pinhole's mark that names it: the queue flags change while its
// connection lives (SetQueue).
func identity(mark uint32) uint32 { return mark &^ nft.QueueFlagsMask }

// children maps pinhole marks to the connections that used them, from conntrack's NEW
// events. gen counts the times events may have been lost: a pinhole opened in an earlier
// generation may have a connection the map does not know.
type children struct {
	mu     sync.Mutex
	byMark map[uint32]child
	gen    uint64
	swept  time.Time // the last sweep
	mark   uint32    // Config.Mark and Mask
	mask   uint32
	stop   chan struct{} // closed by close
	wg     sync.WaitGroup
}

func newChildren(mark, mask uint32) *children {
	return &children{byMark: map[uint32]child{}, mark: mark, mask: mask, stop: make(chan struct{})}
}

// generation is the current generation.
func (c *children) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// lookup returns the connection that used the pinhole of mark, and whether the map can be
// trusted about it: events have not been lost since gen, when the pinhole was opened.
func (c *children) lookup(mark uint32, gen uint64) (ch child, found, trusted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, found = c.byMark[identity(mark)]
	return ch, found, c.gen == gen
}

// add records a NEW event's connection if it is one of ours and expected.
func (c *children) add(f conntrack.Flow) {
	if f.Mark&c.mask != c.mark || f.Status&conntrack.StatusExpected == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.byMark) >= sweepAbove && now.Sub(c.swept) > sweepEvery {
		c.sweepLocked(now)
	}
	c.byMark[identity(f.Mark)] = child{orig: f.TupleOrig, reply: f.TupleReply, at: now}
}

// sweepLocked drops the connections older than childLife.
func (c *children) sweepLocked(now time.Time) {
	c.swept = now
	n := len(c.byMark)
	for m, old := range c.byMark {
		if now.Sub(old.at) > childLife {
			delete(c.byMark, m)
		}
	}
	if len(c.byMark) < n {
		c.gen++ // a pinhole opened before may have lost its connection
	}
}

// seen records what a lookup of the connection of mark found.
func (c *children) seen(mark uint32, f conntrack.Flow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.byMark[identity(mark)]; ok {
		ch.last = &f
		c.byMark[identity(mark)] = ch
	}
}

// forget drops the connection of mark (its pinhole's channel is done with it).
func (c *children) forget(mark uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byMark, identity(mark))
}

// lost starts a new generation: events may have been lost.
func (c *children) lost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
}

// start listens to conntrack's NEW events until close, listening again (after a pause)
// whenever the socket fails, for example when it overflowed.
func (c *children) start(report func(error)) error {
	l, err := c.listen()
	if err != nil {
		return err
	}
	c.wg.Add(1)
	go c.run(l, report)
	return nil
}

// listener is one events socket and what reads it.
type listener struct {
	conn *conntrack.Conn
	evs  chan conntrack.Event
	errs chan error
	done chan struct{} // closed when the reader of evs has ended
}

// close ends the socket and its reader.
func (l *listener) close() {
	go func() { // the worker may be blocked reporting an error nobody reads any more
		for range l.errs {
		}
	}()
	l.conn.Close() // waits for the worker
	close(l.evs)
	<-l.done
	close(l.errs)
}

// listen opens an events socket, joins the NEW group and starts reading it.
func (c *children) listen() (*listener, error) {
	conn, err := conntrack.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("kpath: conntrack events: %w", err)
	}
	if err := conn.SetReadBuffer(eventsReadBuffer); err != nil {
		conn.Close()
		return nil, fmt.Errorf("kpath: conntrack events: read buffer: %w", err)
	}
	l := &listener{conn: conn, evs: make(chan conntrack.Event, 256), done: make(chan struct{})}
	if l.errs, err = conn.Listen(l.evs, 1, []netfilter.NetlinkGroup{netfilter.GroupCTNew}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("kpath: conntrack events: %w", err)
	}
	go func() {
		defer close(l.done)
		for ev := range l.evs {
			if ev.Flow != nil {
				c.add(*ev.Flow)
			}
		}
	}()
	return l, nil
}

// run keeps a listener until close: when one fails, events were lost; after a pause a new
// one takes its place.
func (c *children) run(l *listener, report func(error)) {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			l.close()
			return
		case err := <-l.errs:
			c.lost()
			report(err)
			l.close()
		}
		for l = nil; l == nil; {
			select {
			case <-c.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var err error
			if l, err = c.listen(); err != nil {
				report(err)
			}
		}
		c.lost() // what came while no socket listened
	}
}

// close stops listening.
func (c *children) close() {
	close(c.stop)
	c.wg.Wait()
}
