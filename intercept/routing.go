package intercept

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Routing is the policy routing TPROXY needs, for IPv4 and IPv6:
//
//	ip rule add fwmark MARK/MASK lookup TABLE     (fwmark MARK when MASK is 0xffffffff)
//	ip route add local default dev lo table TABLE
//
// Packets nftables marks with MARK are then delivered locally, to the transparent sockets,
// instead of being forwarded. Setup and Teardown are idempotent.
type Routing struct {
	// Mark is the firewall mark nftables sets on intercepted packets; it must be non-zero.
	Mark uint32
	// Mask is the part of the mark the rule matches (fwmark MARK/MASK); 0 means 0xffffffff.
	Mask uint32
	// Table is the routing table holding the local default route; it must be a table
	// number other than 0 (unspec) and 253-255 (default, main, local).
	Table int
	// Handle is the netlink handle to use; nil means the current network namespace.
	Handle *netlink.Handle
	// Log receives one line per change; nil discards.
	Log *slog.Logger
}

// family is one address family Routing manages.
type family struct {
	family int
	name   string
	zero   *net.IPNet // the default destination, 0.0.0.0/0 or ::/0
}

// families returns the address families Routing manages.
func families() []family {
	return []family{
		{netlink.FAMILY_V4, "ipv4", &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}},
		{netlink.FAMILY_V6, "ipv6", &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}},
	}
}

// Setup adds the fwmark rule and the local default route for both families, leaving
// whatever already exists in place.
func (r *Routing) Setup(ctx context.Context) error {
	h, err := r.handle()
	if err != nil {
		return err
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("intercept: routing setup: find lo: %w", err)
	}
	for _, f := range families() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("intercept: routing setup: %w", err)
		}
		rules, err := r.rules(h, f.family)
		if err != nil {
			return fmt.Errorf("intercept: routing setup %s: %w", f.name, err)
		}
		if len(rules) == 0 {
			rule := r.rule(f.family)
			if err := h.RuleAdd(rule); err != nil {
				return fmt.Errorf("intercept: routing setup %s: add rule fwmark %s lookup %d: %w",
					f.name, r.fwmark(), r.Table, err)
			}
			r.log().Info("added policy rule", "family", f.name, "fwmark", r.fwmark(), "table", r.Table)
		}
		routes, err := r.routes(h, f.family, lo.Attrs().Index)
		if err != nil {
			return fmt.Errorf("intercept: routing setup %s: %w", f.name, err)
		}
		if len(routes) == 0 {
			route := r.route(f.family, f.zero, lo.Attrs().Index)
			if err := h.RouteAdd(route); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("intercept: routing setup %s: add local default route table %d: %w",
					f.name, r.Table, err)
			}
			r.log().Info("added local default route", "family", f.name, "table", r.Table)
		}
	}
	return nil
}

// Teardown removes the rules and routes Setup adds, for both families: every rule
// `fwmark MARK lookup TABLE` without other selectors and every `local default dev lo` route
// in TABLE. Anything else in the table or the rule list is left alone. Missing entries are
// not an error.
func (r *Routing) Teardown(ctx context.Context) error {
	h, err := r.handle()
	if err != nil {
		return err
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("intercept: routing teardown: find lo: %w", err)
	}
	var errs []error
	for _, f := range families() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("intercept: routing teardown: %w", err)
		}
		rules, err := r.rules(h, f.family)
		if err != nil {
			errs = append(errs, fmt.Errorf("intercept: routing teardown %s: %w", f.name, err))
		}
		for i := range rules {
			if err := h.RuleDel(&rules[i]); err != nil && !isGone(err) {
				errs = append(errs, fmt.Errorf("intercept: routing teardown %s: delete rule: %w", f.name, err))
				continue
			}
			r.log().Info("deleted policy rule", "family", f.name, "fwmark", r.fwmark(), "table", r.Table)
		}
		routes, err := r.routes(h, f.family, lo.Attrs().Index)
		if err != nil {
			errs = append(errs, fmt.Errorf("intercept: routing teardown %s: %w", f.name, err))
		}
		for i := range routes {
			if err := h.RouteDel(&routes[i]); err != nil && !isGone(err) {
				errs = append(errs, fmt.Errorf("intercept: routing teardown %s: delete route: %w", f.name, err))
				continue
			}
			r.log().Info("deleted local default route", "family", f.name, "table", r.Table)
		}
	}
	return errors.Join(errs...)
}

// Present reports whether the fwmark rule and the local default route exist for both
// families.
func (r *Routing) Present(ctx context.Context) (bool, error) {
	h, err := r.handle()
	if err != nil {
		return false, err
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return false, fmt.Errorf("intercept: routing present: find lo: %w", err)
	}
	for _, f := range families() {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("intercept: routing present: %w", err)
		}
		rules, err := r.rules(h, f.family)
		if err != nil {
			return false, fmt.Errorf("intercept: routing present %s: %w", f.name, err)
		}
		routes, err := r.routes(h, f.family, lo.Attrs().Index)
		if err != nil {
			return false, fmt.Errorf("intercept: routing present %s: %w", f.name, err)
		}
		if len(rules) == 0 || len(routes) == 0 {
			return false, nil
		}
	}
	return true, nil
}

// handle validates r and returns the netlink handle to use.
func (r *Routing) handle() (*netlink.Handle, error) {
	if r.Mark == 0 {
		return nil, errors.New("intercept: routing: mark must be non-zero")
	}
	if r.Mark&^r.mask() != 0 {
		return nil, fmt.Errorf("intercept: routing: mark %#x outside mask %#x", r.Mark, r.mask())
	}
	switch r.Table {
	case unix.RT_TABLE_UNSPEC, unix.RT_TABLE_DEFAULT, unix.RT_TABLE_MAIN, unix.RT_TABLE_LOCAL:
		return nil, fmt.Errorf("intercept: routing: table %d is reserved", r.Table)
	}
	if r.Table < 0 {
		return nil, fmt.Errorf("intercept: routing: invalid table %d", r.Table)
	}
	if r.Handle != nil {
		return r.Handle, nil
	}
	// The zero Handle opens a socket per request in the current network namespace, as the
	// package-level netlink functions do.
	return &netlink.Handle{}, nil
}

// log returns r.Log or a logger that discards.
func (r *Routing) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// rule builds `fwmark MARK lookup TABLE` for family.
func (r *Routing) rule(family int) *netlink.Rule {
	rule := netlink.NewRule()
	rule.Family = family
	rule.Mark = r.Mark
	if m := r.mask(); m != 0xffffffff {
		rule.Mask = &m
	}
	rule.Table = r.Table
	return rule
}

// mask is r.Mask with its default.
func (r *Routing) mask() uint32 {
	if r.Mask == 0 {
		return 0xffffffff
	}
	return r.Mask
}

// route builds `local default dev lo table TABLE` for family. An RTN_LOCAL route needs
// scope host and an explicit all-zero destination.
func (r *Routing) route(family int, zero *net.IPNet, lo int) *netlink.Route {
	return &netlink.Route{
		Family:    family,
		LinkIndex: lo,
		Dst:       zero,
		Type:      unix.RTN_LOCAL,
		Scope:     netlink.SCOPE_HOST,
		Table:     r.Table,
	}
}

// rules lists the rules of family that are exactly `fwmark MARK/MASK lookup TABLE`.
func (r *Routing) rules(h *netlink.Handle, family int) ([]netlink.Rule, error) {
	filter := &netlink.Rule{Mark: r.Mark, Table: r.Table}
	all, err := h.RuleListFiltered(family, filter, netlink.RT_FILTER_MARK|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	var out []netlink.Rule
	for _, rule := range all {
		if r.isOurRule(rule) {
			out = append(out, rule)
		}
	}
	return out, nil
}

// isOurRule reports whether rule is `fwmark MARK/MASK lookup TABLE` and nothing else: no
// other mask, no addresses, interfaces, ports, tos, uid range or inversion, and it is a plain
// lookup (not goto, nop, blackhole, ...).
func (r *Routing) isOurRule(rule netlink.Rule) bool {
	mask := uint32(0xffffffff)
	if rule.Mask != nil {
		mask = *rule.Mask
	}
	if rule.Mark != r.Mark || mask != r.mask() || rule.Table != r.Table {
		return false
	}
	return !hasOtherSelectors(rule)
}

// hasOtherSelectors reports whether rule selects by more than its fwmark, or does more than
// a plain lookup.
func hasOtherSelectors(rule netlink.Rule) bool {
	if rule.Invert || rule.Src != nil || rule.Dst != nil || rule.IifName != "" || rule.OifName != "" {
		return true
	}
	if rule.Tos != 0 || rule.Dport != nil || rule.Sport != nil || rule.UIDRange != nil || rule.IPProto != 0 {
		return true
	}
	return rule.Type != 0 && rule.Type != unix.FR_ACT_TO_TBL
}

// routes lists the `local default dev lo` routes of family in TABLE.
func (r *Routing) routes(h *netlink.Handle, family, lo int) ([]netlink.Route, error) {
	filter := &netlink.Route{Table: r.Table, Type: unix.RTN_LOCAL, LinkIndex: lo}
	all, err := h.RouteListFiltered(family, filter,
		netlink.RT_FILTER_TABLE|netlink.RT_FILTER_TYPE|netlink.RT_FILTER_OIF)
	if err != nil {
		return nil, fmt.Errorf("list routes in table %d: %w", r.Table, err)
	}
	var out []netlink.Route
	for _, route := range all {
		if route.Dst == nil {
			out = append(out, route)
			continue
		}
		if ones, _ := route.Dst.Mask.Size(); ones == 0 && route.Dst.IP.IsUnspecified() {
			out = append(out, route)
		}
	}
	return out, nil
}

// isGone reports whether err means the entry to delete no longer exists.
func isGone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}
