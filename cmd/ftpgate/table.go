package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ftpgate/ftpgate/intercept"
	"github.com/ftpgate/ftpgate/nft"
)

// operatorHint is what an operator does when the table or routing of -manage-table=false is
// missing.
const operatorHint = "load ftpgate's rule set (include \"/usr/share/ftpgate/ftpgate.nft\" in /etc/nftables.conf, " +
	"or nft -f deploy/ftpgate.nft; `ftpgate rules` prints it for other flags) and add the policy routing it lists"

// newInstaller returns the installer for o and checks, changing nothing, what it needs. With
// -manage-table (the default) ftpgate will build its table and policy routing, so the mark and
// the route table must not be in use by anyone else. With -manage-table=false the operator's
// rule set must already hold the table, its sets and chains, and the policy routing. The
// error is the line to print; every one means exit status 3 (nothing was changed).
func newInstaller(ctx context.Context, o *options, log *slog.Logger) (nft.Installer, error) {
	rt := routingOf(o, log)
	if o.manageTable {
		if err := rt.CheckFree(ctx); err != nil {
			return nil, fmt.Errorf("ftpgate: %w (pick a free mark with -mark/-mark-mask or another table with -route-table)", err)
		}
		inst, err := nft.NewNetlink(o.nft, nft.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("ftpgate: %w", err)
		}
		return inst, nil
	}
	inst, err := nft.NewOperator(o.nft, nft.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("ftpgate: %w", err)
	}
	if err := inst.Setup(ctx); err != nil {
		if errors.Is(err, nft.ErrIncomplete) {
			return nil, fmt.Errorf("ftpgate: -manage-table=false: the rule set lacks what ftpgate needs: %w; %s", err, operatorHint)
		}
		return nil, fmt.Errorf("ftpgate: -manage-table=false: check the nftables table: %w", err)
	}
	if err := rt.Verify(ctx); err != nil {
		return nil, fmt.Errorf("ftpgate: -manage-table=false: %w; %s", err, operatorHint)
	}
	log.Info("policy routing of the operator's rule set verified", "mark", fmt.Sprintf("%#x/%#x", o.nft.Mark, o.nft.MarkMask), "route_table", o.routeTable)
	return inst, nil
}

// routingOf is the policy routing o describes.
func routingOf(o *options, log *slog.Logger) *intercept.Routing {
	return &intercept.Routing{Mark: o.nft.Mark, Mask: o.nft.MarkMask, Table: o.routeTable, Log: log}
}

// installTable builds the table and the policy routing when ftpgate manages them and returns
// the function that removes them at exit; with -manage-table=false it builds nothing, and
// the returned function removes only ftpgate's set elements. The error is the line to print.
func installTable(ctx context.Context, o *options, inst nft.Installer, log *slog.Logger) (func(context.Context), error) {
	if !o.manageTable {
		return func(ctx context.Context) {
			if err := inst.Teardown(ctx); err != nil {
				log.Error("remove ftpgate's nftables elements", "table", o.nft.Table, "err", err.Error())
			}
		}, nil
	}
	// The table is built in one batch: if the kernel lacks TPROXY or the socket match, the
	// batch fails whole and nothing is left behind.
	if err := inst.Setup(ctx); err != nil {
		return nil, fmt.Errorf("ftpgate: install nftables table (does the kernel have nf_tables, TPROXY and the socket match?): %w", err)
	}
	dropTable := func(ctx context.Context) {
		if err := inst.Teardown(ctx); err != nil {
			log.Error("remove nftables table", "table", o.nft.Table, "err", err.Error())
		}
	}
	rt := routingOf(o, log)
	if err := rt.Setup(ctx); err != nil {
		dropTable(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("ftpgate: set up policy routing: %w", err)
	}
	return func(ctx context.Context) {
		if err := rt.Teardown(ctx); err != nil {
			log.Error("remove policy routing", "err", err.Error())
		}
		dropTable(ctx)
	}, nil
}

// watchTable returns a channel that receives when the table is deleted or created (nft flush
// ruleset, a reloaded rule set), so the guard checks at once instead of at its next tick; nil
// (ticks only) when the kernel's notifications cannot be joined.
func watchTable(ctx context.Context, cfg nft.Config, log *slog.Logger) <-chan struct{} {
	ch, err := nft.Watch(ctx, cfg)
	if err != nil {
		log.Warn("cannot watch the nftables table; it is checked every -table-check only", "err", err.Error())
		return nil
	}
	return ch
}
