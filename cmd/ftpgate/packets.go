package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/ftpgate/ftpgate/nft"
	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/policy/config"
)

// queueReporter is an installer that says how its table hands packets to the packet
// filter's queues (nft.Netlink, nft.Operator).
type queueReporter interface {
	QueueStmt() nft.QueueStmt
}

// startPacketQueue reads the packet filter's queues when the table has its queue chain and
// the kernel path is on; nil when there is none (the reason is logged). The caller closes it.
func startPacketQueue(ctx context.Context, o *options, inst nft.Installer, log *slog.Logger) *pktfilter.Queue {
	stmt := nft.QueueNone
	if r, ok := inst.(queueReporter); ok {
		stmt = r.QueueStmt()
	}
	switch {
	case o.nft.Queue == 0:
		log.Info("packet filter off (-queue 0)")
		return nil
	case o.ftp.Kernel == nil:
		log.Info("packet filter off: no kernel data path")
		return nil
	case stmt == nft.QueueNone:
		log.Warn("packet filter off: the nftables table has no queue chain (the kernel has neither nft's queue statement nor the xtables NFQUEUE target, or the operator's rule set has no chain " + nft.ChainQueue + ")")
		return nil
	}
	q := pktfilter.NewQueue(pktfilter.QueueConfig{Num: o.nft.Queue, Log: log, Observe: o.ftp.Metrics.Packets()})
	if err := q.Start(ctx); err != nil {
		log.Warn("packet filter off: cannot read its queues", "err", err.Error())
		return nil
	}
	log.Info("packet filter on", "statement", string(stmt), "bypass_queue", o.nft.Queue, "closed_queue", o.nft.Queue+1)
	return q
}

// checkPacketFilters refuses a configuration with a policy under packet_filter: when the
// gateway has no packet filter queue (haveQueue false): its channels would go unfiltered.
func checkPacketFilters(c *config.Config, haveQueue bool) error {
	if haveQueue {
		return nil
	}
	var names []string
	for name, p := range c.Policies {
		if p.Packets.Enabled {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return fmt.Errorf("policies %s have packet_filter:, but this gateway has no packet filter queue (see the log: -queue 0, -kernel-path=false, or no queue chain in the table)", strings.Join(names, ", "))
}
