package datachan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ftpgate/ftpgate/nft"
)

// ErrTableLost is returned by Guard.Run in exit mode when the table was lost.
var ErrTableLost = errors.New("datachan: nftables table lost")

// Guard watches the nftables table under a running gateway: someone may flush the ruleset,
// delete the table or flush its chain, and interception would silently stop. Every Interval
// it checks the table; when a part is gone it logs an error and either rebuilds the table
// and re-adds the registry's live expectations (Restore), waits for the operator to load
// the rule set again and then re-adds them (Wait: the operator owns the table), or stops
// the gateway.
type Guard struct {
	Installer nft.Installer
	Registry  *Registry
	Interval  time.Duration
	// Restore rebuilds a lost table; false makes Run return ErrTableLost instead, unless
	// Wait is set.
	Restore bool
	// Wait (without Restore) keeps checking a lost table, logging an error at once and every
	// RemindEvery, and re-adds the live expectations when the table is back.
	Wait bool
	// RemindEvery is how often Wait repeats the error while the table is missing (default
	// one minute).
	RemindEvery time.Duration
	Log         *slog.Logger
	// Nudge, when set, makes the guard check at once, between ticks (nft.Watch sends on it
	// when the table is deleted or created); a closed Nudge leaves the ticks.
	Nudge <-chan struct{}

	lostAt, remindedAt time.Time // Wait: when the loss was seen, and last logged
}

// Run checks the table until ctx ends (nil) or, without Restore, until it is lost.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTicker(g.Interval)
	defer t.Stop()
	nudge := g.Nudge
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case _, ok := <-nudge:
			if !ok {
				nudge = nil // the watch ended: ticks only
				continue
			}
		}
		if err := g.check(ctx); err != nil {
			return err
		}
	}
}

// check runs one check, and restores the table if it must.
func (g *Guard) check(ctx context.Context) error {
	err := g.Installer.Check(ctx)
	switch {
	case err == nil && !g.lostAt.IsZero():
		g.back(ctx)
		return nil
	case err == nil, ctx.Err() != nil:
		return nil
	case !errors.Is(err, nft.ErrIncomplete):
		g.Log.Warn("cannot check the nftables table", "err", err.Error())
		return nil
	case g.Wait && !g.Restore:
		g.waitLost(err)
		return nil
	case !g.Restore:
		g.Log.Error("nftables table lost: interception stopped; exiting", "err", err.Error())
		return fmt.Errorf("%w: %w", ErrTableLost, err)
	}
	g.Log.Error("nftables table lost: interception stopped; restoring it", "err", err.Error())
	if err := g.Installer.Setup(ctx); err != nil {
		g.Log.Error("restore nftables table", "err", err.Error())
		return nil // tried again at the next tick
	}
	n, rerr := g.Registry.Reinstall(ctx)
	if rerr != nil {
		g.Log.Error("restore expectations", "err", rerr.Error())
	}
	g.Log.Info("nftables table restored", "expectations", n)
	return nil
}

// waitLost logs a lost table the operator must load again: at once, then every RemindEvery.
func (g *Guard) waitLost(err error) {
	now := time.Now()
	every := g.RemindEvery
	if every <= 0 {
		every = time.Minute
	}
	switch {
	case g.lostAt.IsZero():
		g.lostAt, g.remindedAt = now, now
		g.Log.Error("nftables table lost: interception stopped; reload the operator's rule set (nft -f /etc/nftables.conf)", "err", err.Error())
	case now.Sub(g.remindedAt) >= every:
		g.remindedAt = now
		g.Log.Error("nftables table still missing: interception stopped; reload the operator's rule set", "since", g.lostAt.Format(time.RFC3339), "err", err.Error())
	}
}

// back re-adds the live expectations to the table the operator loaded again.
func (g *Guard) back(ctx context.Context) {
	n, err := g.Registry.Reinstall(ctx)
	if err != nil {
		g.Log.Error("restore expectations", "err", err.Error())
		return // tried again at the next tick
	}
	g.Log.Info("nftables table back: interception resumed", "expectations", n, "lost_for", time.Since(g.lostAt).Round(time.Millisecond).String())
	g.lostAt = time.Time{}
}
