package intercept

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// ErrRoutingInUse is wrapped by Routing.CheckFree when the mark or the route table is
// already used by rules or routes that are not ftpgate's.
var ErrRoutingInUse = errors.New("intercept: policy routing in use by someone else")

// ErrRoutingMissing is wrapped by Routing.Verify when the fwmark rule or the local default
// route an operator was to add is missing.
var ErrRoutingMissing = errors.New("intercept: policy routing missing")

// fwmark is the rule's selector as `ip rule` prints it: 0x1, or 0x100/0xff00.
func (r *Routing) fwmark() string {
	if m := r.mask(); m != 0xffffffff {
		return fmt.Sprintf("%#x/%#x", r.Mark, m)
	}
	return fmt.Sprintf("%#x", r.Mark)
}

// CheckFree reports, changing nothing, whether the mark and the table are free for Setup:
// no rule other than ftpgate's own `fwmark MARK/MASK lookup TABLE` uses the mark or looks up
// the table, and TABLE holds no route but the local default route on lo (ftpgate's, left
// by a run that crashed). The error wraps ErrRoutingInUse and lists what is in the way.
func (r *Routing) CheckFree(ctx context.Context) error {
	h, err := r.handle()
	if err != nil {
		return err
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("intercept: routing check: find lo: %w", err)
	}
	var foreign []string
	for _, f := range families() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("intercept: routing check: %w", err)
		}
		rules, err := h.RuleList(f.family)
		if err != nil {
			return fmt.Errorf("intercept: routing check %s: list rules: %w", f.name, err)
		}
		for _, rule := range rules {
			if (rule.Mark == r.Mark || rule.Table == r.Table) && !r.isOurRule(rule) {
				foreign = append(foreign, fmt.Sprintf("%s rule %q", f.name, describeRule(rule)))
			}
		}
		routes, err := h.RouteListFiltered(f.family, &netlink.Route{Table: r.Table}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("intercept: routing check %s: list routes in table %d: %w", f.name, r.Table, err)
		}
		ours, err := r.routes(h, f.family, lo.Attrs().Index)
		if err != nil {
			return fmt.Errorf("intercept: routing check %s: %w", f.name, err)
		}
		if n := len(routes) - len(ours); n > 0 {
			foreign = append(foreign, fmt.Sprintf("%d %s route(s) in table %d besides `local default dev lo`", n, f.name, r.Table))
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%w: fwmark %s, table %d: %s", ErrRoutingInUse, r.fwmark(), r.Table, strings.Join(foreign, "; "))
	}
	return nil
}

// describeRule is a rule in words close to `ip rule`: its priority, mark, table and type.
func describeRule(rule netlink.Rule) string {
	s := fmt.Sprintf("%d: fwmark %#x", rule.Priority, rule.Mark)
	if rule.Mask != nil {
		s += fmt.Sprintf("/%#x", *rule.Mask)
	}
	s += fmt.Sprintf(" lookup %d", rule.Table)
	if rule.Src != nil || rule.Dst != nil || rule.IifName != "" || rule.OifName != "" || rule.Invert {
		s += " (with more selectors)"
	}
	return s
}

// Verify reports, changing nothing, whether the operator added the policy routing for both
// families: the rule `fwmark MARK/MASK lookup TABLE` and the route `local default dev lo
// table TABLE`. The error wraps ErrRoutingMissing and names the missing entries.
func (r *Routing) Verify(ctx context.Context) error {
	h, err := r.handle()
	if err != nil {
		return err
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("intercept: routing verify: find lo: %w", err)
	}
	var missing []string
	for _, f := range families() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("intercept: routing verify: %w", err)
		}
		fam := "-" + strings.TrimPrefix(f.name, "ipv")
		rules, err := r.rules(h, f.family)
		if err != nil {
			return fmt.Errorf("intercept: routing verify %s: %w", f.name, err)
		}
		if len(rules) == 0 {
			missing = append(missing, fmt.Sprintf("ip %s rule add fwmark %s lookup %d", fam, r.fwmark(), r.Table))
		}
		routes, err := r.routes(h, f.family, lo.Attrs().Index)
		if err != nil {
			return fmt.Errorf("intercept: routing verify %s: %w", f.name, err)
		}
		if len(routes) == 0 {
			missing = append(missing, fmt.Sprintf("ip %s route add local default dev lo table %d", fam, r.Table))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrRoutingMissing, strings.Join(missing, "; "))
	}
	return nil
}
