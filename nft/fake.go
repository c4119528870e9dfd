package nft

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// ErrNoTable is returned by Fake.Add and Fake.Elements before Setup or after Teardown, where
// the kernel would report ENOENT.
var ErrNoTable = errors.New("nft: table does not exist")

// Fake is an in-memory Installer for tests without root. It keeps the elements it is given
// (they never expire), renders them as nft text, and can be told to fail the next calls.
// It is safe for concurrent use.
type Fake struct {
	cfg Config

	mu    sync.Mutex
	up    bool
	elems map[string]Element // by set key, which also tells the family apart
	fail  []error
}

var _ Installer = (*Fake)(nil)

// NewFake returns a Fake for cfg (zero fields take their defaults) with no table set up.
func NewFake(cfg Config) *Fake {
	return &Fake{cfg: cfg.WithDefaults(), elems: make(map[string]Element)}
}

// FailNext makes the next call of Setup, Teardown, Add, Delete or Elements return err
// instead of doing anything. Several calls queue errors for consecutive calls.
func (f *Fake) FailNext(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, err)
}

// injected pops the next queued error. f.mu must be held.
func (f *Fake) injected() error {
	if len(f.fail) == 0 {
		return nil
	}
	err := f.fail[0]
	f.fail = f.fail[1:]
	return err
}

// Setup marks the table as installed and drops all elements, like replacing the table.
func (f *Fake) Setup(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx); err != nil {
		return err
	}
	f.up = true
	clear(f.elems)
	return nil
}

// Teardown marks the table as gone with all its elements. It never fails on a missing table.
func (f *Fake) Teardown(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx); err != nil {
		return err
	}
	f.up = false
	clear(f.elems)
	return nil
}

// Add validates e as Netlink does and stores it. Re-adding keeps the first element, as the
// kernel does. It fails with ErrNoTable when the table is not set up.
func (f *Fake) Add(ctx context.Context, e Element) error {
	e, err := e.normalize()
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx); err != nil {
		return err
	}
	if !f.up {
		return fmt.Errorf("nft: add %v: %w", e, ErrNoTable)
	}
	if e.Timeout == 0 {
		e.Timeout = f.cfg.Timeout
	}
	k := keyOf(e)
	if _, ok := f.elems[k]; !ok {
		f.elems[k] = e
	}
	return nil
}

// Delete removes e if present; a missing element or table is not an error.
func (f *Fake) Delete(ctx context.Context, e Element) error {
	e, err := e.normalize()
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx); err != nil {
		return err
	}
	delete(f.elems, keyOf(e))
	return nil
}

// Elements returns the stored elements in the order Netlink.Elements uses. Their Timeout is
// the one they were added with (or the default). It fails with ErrNoTable when not set up.
func (f *Fake) Elements(ctx context.Context) ([]Element, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx); err != nil {
		return nil, err
	}
	if !f.up {
		return nil, fmt.Errorf("nft: list elements: %w", ErrNoTable)
	}
	return f.sorted(), nil
}

// Text returns Render(cfg) with the current elements inside the set blocks, e.g.
// `elements = { 198.51.100.2 . 203.0.113.2 . 40001 timeout 30s }`, or "" when the table is
// not set up. Injected errors do not affect it.
func (f *Fake) Text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.up {
		return ""
	}
	var e4, e6 []string
	for _, e := range f.sorted() {
		if e.Src.Is4() {
			e4 = append(e4, e.String())
		} else {
			e6 = append(e6, e.String())
		}
	}
	return renderTable(f.cfg, e4, e6)
}

// begin checks ctx and pops an injected error. f.mu must be held.
func (f *Fake) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nft: fake: %w", err)
	}
	return f.injected()
}

// sorted returns the elements in Netlink.Elements order. f.mu must be held.
func (f *Fake) sorted() []Element {
	return slices.SortedFunc(maps.Values(f.elems), compareElements)
}

// keyOf returns the map key of a normalized element: its set key, as the kernel identifies
// it (the timeout is not part of it).
func keyOf(e Element) string { return string(e.key()) }

// QueueStmt reports QueueNative when the Fake's Config has a Queue, else QueueNone.
func (f *Fake) QueueStmt() QueueStmt {
	if f.cfg.Queue == 0 {
		return QueueNone
	}
	return QueueNative
}
