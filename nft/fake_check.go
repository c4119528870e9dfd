package nft

import (
	"context"
	"fmt"
)

// Check reports, wrapping ErrIncomplete, whether the fake table is gone (after Teardown or
// Lose, before Setup).
func (f *Fake) Check(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx); err != nil {
		return err
	}
	if !f.up {
		return fmt.Errorf("%w: table inet %s", ErrIncomplete, f.cfg.Table)
	}
	return nil
}

// Lose drops the table and its elements behind ftpgate's back, as `nft flush ruleset`
// does to the kernel's.
func (f *Fake) Lose() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up = false
	clear(f.elems)
}
