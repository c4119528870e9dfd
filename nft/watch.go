package nft

import (
	"context"
	"fmt"

	"github.com/google/nftables"
)

// Watch reports, as they happen, the creation and deletion of the table cfg names: `nft flush
// ruleset`, `nft delete table inet ftpgate` and reloading a rule set (which deletes and
// creates the table in one transaction) each send a value on the returned channel, which
// holds at most one (a burst of events is one value). It listens to the kernel's nf_tables
// multicast group (NFNLGRP_NFTABLES), as `nft monitor tables` does, and ends, closing the
// channel, when ctx ends or the netlink socket fails. Other changes (a flushed chain) are
// left to the periodic Check.
func Watch(ctx context.Context, cfg Config, opts ...Option) (<-chan struct{}, error) {
	cfg = cfg.WithDefaults()
	c, err := newOptions(opts).conn()
	if err != nil {
		return nil, fmt.Errorf("nft: watch: %w", err)
	}
	mon := nftables.NewMonitor(nftables.WithMonitorAction(nftables.MonitorActionAny),
		nftables.WithMonitorObject(nftables.MonitorObjectTables))
	events, err := c.AddMonitor(mon)
	if err != nil {
		return nil, fmt.Errorf("nft: watch: %w", err)
	}
	out := make(chan struct{}, 1)
	go func() {
		<-ctx.Done()
		mon.Close()
	}()
	go func() {
		defer close(out)
		for ev := range events { // drained until closed, so the monitor's goroutines end
			t, ok := ev.Data.(*nftables.Table)
			if !ok || t.Name != cfg.Table || t.Family != nftables.TableFamilyINet {
				continue
			}
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out, nil
}
