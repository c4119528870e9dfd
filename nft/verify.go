package nft

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/nftables"
)

// Verify checks, changing nothing, that the table an operator's rule set defines (deploy/
// ftpgate.nft) has what ftpgate needs: table inet NAME; the sets data4 and data6 with their
// key types and the timeout flag; the chains prerouting, guard and cut with their types and
// hooks, each with at least the rules `ftpgate rules` writes. Like Check it does not compare
// the rules' contents. The error wraps ErrIncomplete and names every missing part.
func (n *Netlink) Verify(ctx context.Context) (err error) {
	if err := n.lock(ctx); err != nil {
		return fmt.Errorf("nft: verify: %w", err)
	}
	defer n.unlock()
	c, err := n.conn()
	defer n.dropIfFailed(&err)
	if err != nil {
		return fmt.Errorf("nft: verify: %w", err)
	}
	if _, err := c.ListTableOfFamily(n.cfg.Table, n.table.Family); err != nil {
		return fmt.Errorf("%w: table inet %s does not exist (%v)", ErrIncomplete, n.cfg.Table, err)
	}
	rs := buildRules(n.table, n.cfg)
	var missing []string
	for _, want := range []*nftables.Set{rs.set4, rs.set6} {
		missing = append(missing, verifySet(c, n.table, want)...)
	}
	for _, want := range []struct {
		chain *nftables.Chain
		rules int
	}{{rs.chain, len(rs.rules)}, {rs.guard, len(rs.guardRules)}, {rs.cut, len(rs.cutRules)}} {
		p, err := verifyChain(c, n.table, want.chain, want.rules)
		if err != nil {
			return fmt.Errorf("nft: verify: %w", err)
		}
		missing = append(missing, p...)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: table inet %s: %s", ErrIncomplete, n.cfg.Table, strings.Join(missing, "; "))
	}
	// The queue chain is the operator's choice: nft cannot write it from text on a kernel
	// without its queue statement. Without it, packet filters are off.
	n.queue = QueueNone
	if n.cfg.Queue != 0 {
		if p, err := verifyChain(c, n.table, queueChain(n.table), len(queueRules(n.cfg.Queue))); err == nil && len(p) == 0 {
			n.queue = QueueOperator
		}
	}
	return nil
}

// verifySet returns what is wrong with the set named like want: missing, another key type or
// no timeout flag.
func verifySet(c *nftables.Conn, t *nftables.Table, want *nftables.Set) []string {
	got, err := c.GetSetByName(t, want.Name)
	if err != nil {
		return []string{fmt.Sprintf("set %s missing", want.Name)}
	}
	var out []string
	if got.KeyType.Name != want.KeyType.Name || got.KeyType.Bytes != want.KeyType.Bytes {
		out = append(out, fmt.Sprintf("set %s has type %s, want %s", want.Name, got.KeyType.Name, want.KeyType.Name))
	}
	if !got.HasTimeout {
		out = append(out, fmt.Sprintf("set %s lacks flags timeout", want.Name))
	}
	return out
}

// verifyChain returns what is wrong with the chain named like want: missing, another type or
// hook, or fewer than rules rules. The error is a failure to list the rules.
func verifyChain(c *nftables.Conn, t *nftables.Table, want *nftables.Chain, rules int) ([]string, error) {
	got, err := c.ListChain(t, want.Name)
	if err != nil {
		return []string{fmt.Sprintf("chain %s missing", want.Name)}, nil
	}
	switch {
	case got.Hooknum == nil || *got.Hooknum != *want.Hooknum:
		return []string{fmt.Sprintf("chain %s is not hooked at %s", want.Name, hookName(*want.Hooknum))}, nil
	case got.Type != want.Type:
		return []string{fmt.Sprintf("chain %s has type %s, want %s", want.Name, got.Type, want.Type)}, nil
	}
	rs, err := c.GetRules(t, got)
	if err != nil {
		return nil, fmt.Errorf("list rules of chain %s: %w", want.Name, err)
	}
	if len(rs) < rules {
		return []string{fmt.Sprintf("chain %s has %d rules, want at least %d", want.Name, len(rs), rules)}, nil
	}
	return nil, nil
}

// hookName is the nft name of the hooks ftpgate's chains use.
func hookName(h nftables.ChainHook) string {
	switch h {
	case *nftables.ChainHookPrerouting:
		return "prerouting"
	case *nftables.ChainHookForward:
		return "forward"
	}
	return fmt.Sprint(h)
}
