package nft

import (
	"context"
	"errors"
	"fmt"
)

// ErrIncomplete is wrapped by Check when the table, one of its sets, its chain or one of its
// rules is gone (someone ran `nft flush ruleset`, deleted the table or flushed the chain).
var ErrIncomplete = errors.New("nft: table missing or incomplete")

// Check reports whether the table Setup built is still whole: the table, data4 and data6,
// the prerouting and guard chains and all their rules. It does not compare the rules' contents (the
// library cannot decode the socket and tproxy expressions), only that none is missing. An
// error wrapping ErrIncomplete says what is gone; Setup rebuilds it.
func (n *Netlink) Check(ctx context.Context) (err error) {
	if err := n.lock(ctx); err != nil {
		return fmt.Errorf("nft: check: %w", err)
	}
	defer n.unlock()
	c, err := n.conn()
	defer n.dropIfFailed(&err)
	if err != nil {
		return fmt.Errorf("nft: check: %w", err)
	}
	if _, err := c.ListTableOfFamily(n.cfg.Table, n.table.Family); err != nil {
		return fmt.Errorf("%w: table inet %s: %v", ErrIncomplete, n.cfg.Table, err)
	}
	for _, name := range []string{SetData4, SetData6} {
		if _, err := c.GetSetByName(n.table, name); err != nil {
			return fmt.Errorf("%w: set %s: %v", ErrIncomplete, name, err)
		}
	}
	rs := buildRules(n.table, n.cfg)
	chains := []struct {
		name  string
		rules int
	}{{rs.chain.Name, len(rs.rules)}, {rs.guard.Name, len(rs.guardRules)}, {rs.cut.Name, len(rs.cutRules)}}
	if n.queue == QueueNative || n.queue == QueueXT {
		chains = append(chains, struct {
			name  string
			rules int
		}{ChainQueue, len(queueRules(n.cfg.Queue))})
	}
	for _, ch := range chains {
		chain, err := c.ListChain(n.table, ch.name)
		if err != nil {
			return fmt.Errorf("%w: chain %s: %v", ErrIncomplete, ch.name, err)
		}
		rules, err := c.GetRules(n.table, chain)
		if err != nil {
			return fmt.Errorf("nft: check: list rules: %w", err)
		}
		if len(rules) != ch.rules {
			return fmt.Errorf("%w: chain %s has %d rules, want %d", ErrIncomplete, ch.name, len(rules), ch.rules)
		}
	}
	return nil
}
