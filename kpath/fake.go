package kpath

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Fake is an in-memory Kernel for unit tests: Open records the owner's pinhole, and the
// test says what the kernel saw of it with SetFlow.
type Fake struct {
	mu     sync.Mutex
	seq    uint32
	open   map[uint64]Handle
	flows  map[uint32]Flow
	opened []Pinhole
	cut    []Handle
	// FailOpen, when set, is returned by Open.
	FailOpen error

	requeued map[uint32]uint32 // identity of a pinhole's mark: its last Requeue flags
}

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{open: map[uint64]Handle{}, flows: map[uint32]Flow{}} }

// Setup does nothing.
func (f *Fake) Setup(context.Context) error { return nil }

// Teardown forgets every pinhole.
func (f *Fake) Teardown(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.open)
	return nil
}

// Open records p as the owner's pinhole.
func (f *Fake) Open(_ context.Context, owner uint64, p Pinhole, _ time.Duration) (Handle, error) {
	p, err := p.normalize()
	if err != nil {
		return Handle{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailOpen != nil {
		return Handle{}, f.FailOpen
	}
	f.seq++
	h := Handle{Pinhole: p, Mark: DefaultMark | p.Queue | f.seq}
	f.open[owner] = h
	f.opened = append(f.opened, p)
	return h, nil
}

// Cancel forgets the owner's pinhole if it is h.
func (f *Fake) Cancel(_ context.Context, owner uint64, h Handle) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open[owner] == h {
		delete(f.open, owner)
	}
}

// Flow returns what SetFlow said of h.
func (f *Fake) Flow(_ context.Context, h Handle) (Flow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h.Mark == 0 {
		return Flow{}, errors.New("kpath: fake: no such pinhole")
	}
	return f.flows[h.Mark], nil
}

// Cut records that h's connection was cut.
func (f *Fake) Cut(_ context.Context, h Handle) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = append(f.cut, h)
	return nil
}

// CutHandles lists the handles whose connections were cut.
func (f *Fake) CutHandles() []Handle {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Handle(nil), f.cut...)
}

// SetFlow sets what the kernel saw of the connection that used h.
func (f *Fake) SetFlow(h Handle, fl Flow) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flows[h.Mark] = fl
	if fl.Seen {
		for owner, o := range f.open {
			if o == h {
				delete(f.open, owner) // used: a pinhole admits one connection
			}
		}
	}
}

// OpenPinhole returns the owner's open (unused) pinhole, if any.
func (f *Fake) OpenPinhole(owner uint64) (Handle, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.open[owner]
	return h, ok
}

// Opened lists every pinhole opened so far, in order.
func (f *Fake) Opened() []Pinhole {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Pinhole(nil), f.opened...)
}

// Requeue records the new queue flags of h's pinhole (Requeued reads them).
func (f *Fake) Requeue(_ context.Context, _ uint64, h Handle, queue uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requeued == nil {
		f.requeued = map[uint32]uint32{}
	}
	f.requeued[identity(h.Mark)] = queue
	return nil
}

// Requeued returns the queue flags the last Requeue gave h's pinhole, and whether there was one.
func (f *Fake) Requeued(h Handle) (uint32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, ok := f.requeued[identity(h.Mark)]
	return q, ok
}
