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
// and re-adds the registry's live expectations (Restore), or stops the gateway.
type Guard struct {
	Installer nft.Installer
	Registry  *Registry
	Interval  time.Duration
	// Restore rebuilds a lost table; false makes Run return ErrTableLost instead.
	Restore bool
	Log     *slog.Logger
}

// Run checks the table until ctx ends (nil) or, without Restore, until it is lost.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTicker(g.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
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
	case err == nil, ctx.Err() != nil:
		return nil
	case !errors.Is(err, nft.ErrIncomplete):
		g.Log.Warn("cannot check the nftables table", "err", err.Error())
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
