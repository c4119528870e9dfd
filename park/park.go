// Package park lets idle connections wait without a goroutine each: one epoll instance, read
// through Go's own poller by one goroutine, wakes every parked waiter when its descriptor
// becomes readable (or hangs up, or fails).
//
// A control session that waits for its client or server with a goroutine per leg costs two
// parked goroutines (their stacks and runtime structures) for as long as it is idle; parked
// here it costs a map entry. The price is one goroutine start when the leg wakes, so a
// caller parks only after a quiet period.
package park

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by [Poller.Park] after [Poller.Close].
var ErrClosed = errors.New("park: poller closed")

// Poller wakes parked waiters. The zero value is not usable; call [New].
type Poller struct {
	file *os.File        // the epoll descriptor, non-blocking, in Go's poller
	epfd int             // its number (File.Fd would make it blocking)
	rc   syscall.RawConn // file's, for the wait loop
	done chan struct{}   // closed when the wait loop has ended

	mu      sync.Mutex // guards the fields below, and every epoll_ctl (the descriptor stays open)
	waiters map[uint64]waiter
	next    uint64
	closed  bool
}

// waiter is what runs when a parked descriptor is ready.
type waiter struct {
	wake func()
	fd   int
}

// Handle is one parked waiter.
type Handle struct {
	p     *Poller
	token uint64
}

// New makes a poller and starts its goroutine; [Poller.Close] ends it.
func New() (*Poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("park: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("park: set non-blocking: %w", err)
	}
	file := os.NewFile(uintptr(fd), "park-epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("park: %w", err)
	}
	p := &Poller{file: file, epfd: fd, rc: rc, done: make(chan struct{}), waiters: map[uint64]waiter{}}
	go p.loop()
	return p, nil
}

// Park arranges for wake to run, once, in a goroutine of its own, when conn's descriptor is
// readable, hung up or in error; at once if it already is. Until then no goroutine waits
// for conn. [Handle.Release] takes the waiter back before it ran.
func (p *Poller) Park(conn syscall.Conn, wake func()) (*Handle, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("park: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	p.next++
	h := &Handle{p: p, token: p.next}
	w := waiter{wake: wake, fd: -1}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		// EPOLLIN|EPOLLRDHUP|EPOLLONESHOT, level-triggered: bytes already waiting wake at
		// once, and one wake disarms the entry (the waker deletes it).
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT}
		setToken(&ev, h.token)
		w.fd = int(fd)
		cerr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, w.fd, &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("park: epoll_ctl add: %w", err)
	}
	p.waiters[h.token] = w
	return h, nil
}

// Release takes the waiter back if it has not been woken yet, and reports whether it had not:
// true means wake will never run, false that it has been or is being started. The
// descriptor must still be open.
func (h *Handle) Release() bool {
	p := h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forget(h.token).wake != nil
}

// forget removes a waiter and its epoll entry and returns it (zero if it was not parked).
// mu must be held.
func (p *Poller) forget(token uint64) waiter {
	w, ok := p.waiters[token]
	if !ok {
		return waiter{}
	}
	delete(p.waiters, token)
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
	return w
}

// Parked reports how many waiters are parked now.
func (p *Poller) Parked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

// Close stops the poller. Waiters still parked are woken, so that none is lost.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	left := p.waiters
	p.waiters = map[uint64]waiter{}
	err := p.file.Close()
	p.mu.Unlock()
	<-p.done
	for _, w := range left {
		go w.wake()
	}
	return err
}

// loop waits for the epoll descriptor through Go's poller (it is readable when an entry is
// ready) and wakes the ready waiters, until Close.
func (p *Poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 64)
	for {
		err := p.rc.Read(func(fd uintptr) bool {
			n, err := unix.EpollWait(int(fd), events, 0)
			if err != nil || n <= 0 {
				return err != nil && err != unix.EINTR && err != unix.EAGAIN
			}
			p.wake(events[:n])
			return true
		})
		if err != nil {
			return
		}
	}
}

// wake starts the waiters of ready events.
func (p *Poller) wake(events []unix.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range events {
		if w := p.forget(token(&events[i])); w.wake != nil {
			go w.wake()
		}
	}
}

// setToken stores a waiter's token in an event's 64-bit user data (the Fd and Pad fields of
// x/sys's EpollEvent).
func setToken(ev *unix.EpollEvent, t uint64) {
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = t
}

// token reads what setToken stored.
func token(ev *unix.EpollEvent) uint64 {
	return *(*uint64)(unsafe.Pointer(&ev.Fd))
}
