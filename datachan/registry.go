package datachan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/nft"
)

// ErrInUse is returned by Expect when another session already expects the same connection.
var ErrInUse = errors.New("datachan: expectation already held by another session")

// ErrFull is returned by Expect when the registry holds as many expectations as its limit
// allows.
var ErrFull = errors.New("datachan: too many expectations")

// An expected connection is named by its nft element (from Src to Dst:Port); the registry
// keys elements without their timeout, and installs them with its own.

// Handler takes over an arrived data connection. It runs on its own goroutine and owns conn.
type Handler func(conn *net.TCPConn)

type entry struct {
	owner   uint64
	key     nft.Element // Timeout zero, no comment
	comment string      // the element's comment in the kernel's set
	handler Handler
	timer   *time.Timer
}

// Registry maps expected connections to the sessions that wait for them and keeps the kernel's
// expectation sets in step. It is safe for concurrent use.
type Registry struct {
	inst    nft.Installer
	timeout time.Duration
	log     *slog.Logger
	max     int              // expectations at once; 0: no limit
	metrics *metrics.Metrics // nil: none

	mu      sync.Mutex
	byKey   map[nft.Element]*entry
	byOwner map[uint64]*entry
}

// NewRegistry returns a registry that installs elements with inst; timeout is the lifetime of
// an unused expectation.
func NewRegistry(inst nft.Installer, timeout time.Duration, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{
		inst:    inst,
		timeout: timeout,
		log:     log,
		byKey:   make(map[nft.Element]*entry),
		byOwner: make(map[uint64]*entry),
	}
}

// Expect installs the expectation k for owner, superseding owner's previous one. When the
// connection arrives, h is called with it; at most one connection is admitted.
func (r *Registry) Expect(ctx context.Context, owner uint64, k nft.Element, h Handler) error {
	if !k.Src.IsValid() || !k.Dst.IsValid() || k.Src.Is4() != k.Dst.Is4() || k.Port == 0 {
		return fmt.Errorf("datachan: invalid expectation %s", k)
	}
	comment := k.Comment
	k = keyOf(k)
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byKey[k]; ok && e.owner != owner {
		r.metrics.ExpectationRefused(metrics.ExpectInUse)
		return fmt.Errorf("%w: %s", ErrInUse, k)
	}
	if old := r.byOwner[owner]; old != nil {
		r.removeLocked(ctx, old)
	}
	if r.max > 0 && len(r.byKey) >= r.max {
		r.log.Warn("expectation refused: the registry is full", "session", owner, "element", k.String(), "max", r.max)
		r.metrics.ExpectationRefused(metrics.ExpectFull)
		return fmt.Errorf("%w: %d", ErrFull, r.max)
	}
	el := k
	el.Timeout, el.Comment = r.timeout, comment
	if err := r.inst.Add(ctx, el); err != nil {
		r.metrics.ExpectationRefused(metrics.ExpectInstall)
		return fmt.Errorf("datachan: add expectation %s: %w", k, err)
	}
	e := &entry{owner: owner, key: k, comment: comment, handler: h}
	e.timer = time.AfterFunc(r.timeout, func() { r.expire(e) })
	r.byKey[k] = e
	r.byOwner[owner] = e
	r.metrics.ExpectationCreated()
	r.log.Debug("expectation added", "session", owner, "element", k.String(), "timeout", r.timeout)
	return nil
}

// SetLimit bounds the expectations at once (and so the elements in the kernel's sets); 0
// removes the bound. Call it before the registry is used.
func (r *Registry) SetLimit(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.max = n
}

// SetMetrics makes the registry count its expectations in m (nil: no counting). Call it
// before the registry is used.
func (r *Registry) SetMetrics(m *metrics.Metrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metrics = m
}

// Cancel removes owner's expectation, if any.
func (r *Registry) Cancel(ctx context.Context, owner uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.byOwner[owner]; e != nil {
		r.removeLocked(ctx, e)
	}
}

// Withdraw removes owner's expectation if it is still k (a newer expectation of the same
// owner stays).
func (r *Registry) Withdraw(ctx context.Context, owner uint64, k nft.Element) {
	k = keyOf(k)
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.byOwner[owner]; e != nil && e.key == k {
		r.removeLocked(ctx, e)
	}
}

// Claim takes the expectation that admits a connection from src to dst, removing it and its
// element so no second connection gets in. It reports false for an unexpected connection.
func (r *Registry) Claim(ctx context.Context, src, dst netip.AddrPort) (owner uint64, h Handler, ok bool) {
	k := keyOf(nft.Element{Src: src.Addr(), Dst: dst.Addr(), Port: dst.Port()})
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byKey[k]
	if e == nil {
		return 0, nil, false
	}
	r.removeLocked(ctx, e)
	r.metrics.ExpectationUsed()
	return e.owner, e.handler, true
}

// Len reports the number of pending expectations.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byKey)
}

func (r *Registry) expire(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey[e.key] != e {
		return
	}
	r.log.Info("expectation expired unused", "session", e.owner, "element", e.key.String())
	r.removeLocked(context.Background(), e)
	r.metrics.ExpectationExpired()
}

// removeLocked forgets e and deletes its element. The kernel may have expired the element
// already; Installer.Delete treats that as success.
func (r *Registry) removeLocked(ctx context.Context, e *entry) {
	e.timer.Stop()
	delete(r.byKey, e.key)
	if r.byOwner[e.owner] == e {
		delete(r.byOwner, e.owner)
	}
	r.metrics.ExpectationClosed()
	if err := r.inst.Delete(context.WithoutCancel(ctx), e.key); err != nil {
		// The element still expires on its own; say so loudly.
		r.log.Error("delete expectation", "session", e.owner, "element", e.key.String(), "err", err)
	}
}

// keyOf is k as the registry's maps key it: addresses unmapped, no timeout, no comment.
func keyOf(k nft.Element) nft.Element {
	return nft.Element{Src: k.Src.Unmap(), Dst: k.Dst.Unmap(), Port: k.Port}
}

// Reinstall adds the elements of every live expectation again, after the table was rebuilt
// (Setup drops all elements). It returns how many it added and the errors joined.
func (r *Registry) Reinstall(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var (
		n    int
		errs []error
	)
	for k, e := range r.byKey {
		el := k
		el.Timeout, el.Comment = r.timeout, e.comment
		if err := r.inst.Add(ctx, el); err != nil {
			errs = append(errs, fmt.Errorf("datachan: reinstall %s: %w", k, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
