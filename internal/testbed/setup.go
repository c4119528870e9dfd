package testbed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// netnsDir is where iproute2 keeps named network namespaces.
const netnsDir = "/run/netns"

// Interface names (per namespace, so they need not be unique per run).
const (
	ifClient   = "eth0" // in client, toward gw
	ifServer   = "eth0" // in server, toward gw
	ifGWClient = "ethc" // in gw, toward client
	ifGWServer = "eths" // in gw, toward server
)

// firewallRules is the gw table installed when Options.Forward is false: a box that
// forwards nothing but the connections the kernel relates to one it admitted (the usual
// first rule of a stateful forward chain; only ftpgate's kernel data path pinholes are
// related here).
const firewallRules = `table inet tbfw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
	}
}
`

// setup creates everything. Each step runs inside one of the new
// namespaces (ip -n / ip netns exec), never in the root namespace.
func (tp *Topology) setup(ctx context.Context) error {
	for _, ns := range tp.Namespaces() {
		if _, _, err := run(ctx, "ip", "netns", "add", ns); err != nil {
			return err
		}
	}
	// accept_dad must be off before the veths exist, or IPv6 addresses
	// stay tentative for about a second.
	for _, ns := range tp.Namespaces() {
		script := "echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad && echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad"
		if slices.Contains(tp.Gateways(), ns) {
			script += " && echo 1 >/proc/sys/net/ipv4/ip_forward && echo 1 >/proc/sys/net/ipv6/conf/all/forwarding"
		}
		if tp.HA != nil && slices.Contains(tp.Gateways(), ns) {
			// A gateway whose links go down (TestFailover) keeps its IPv6 addresses, as
			// its IPv4 ones, for when they come back up.
			script += " && echo 1 >/proc/sys/net/ipv6/conf/all/keep_addr_on_down && echo 1 >/proc/sys/net/ipv6/conf/default/keep_addr_on_down"
		}
		if _, _, err := run(ctx, "ip", "netns", "exec", ns, "sh", "-c", script); err != nil {
			return fmt.Errorf("sysctl: %w", err)
		}
	}
	if tp.HA != nil {
		if err := tp.setupHA(ctx); err != nil {
			return err
		}
		return tp.firewall(ctx)
	}
	if _, _, err := run(ctx, "ip", "-n", tp.Client, "link", "add", ifClient, "type", "veth",
		"peer", "name", ifGWClient, "netns", tp.GW); err != nil {
		return err
	}
	if _, _, err := run(ctx, "ip", "-n", tp.Server, "link", "add", ifServer, "type", "veth",
		"peer", "name", ifGWServer, "netns", tp.GW); err != nil {
		return err
	}
	batches := map[string][]string{
		tp.Client: {
			"link set lo up",
			"link set " + ifClient + " up",
			addrCmd(tp.ClientV4, 24, ifClient),
			addrCmd(tp.OtherV4, 24, ifClient),
			addrCmd(tp.ClientV6, 64, ifClient),
			// Deprecated (preferred_lft 0) so that it is never chosen as
			// a source address unless bound explicitly.
			addrCmd(tp.OtherV6, 64, ifClient) + " preferred_lft 0",
			"route add default via " + tp.GWClientV4.String() + " dev " + ifClient,
			"route add default via " + tp.GWClientV6.String() + " dev " + ifClient,
		},
		tp.GW: {
			"link set lo up",
			"link set " + ifGWClient + " up",
			"link set " + ifGWServer + " up",
			addrCmd(tp.GWClientV4, 24, ifGWClient),
			addrCmd(tp.GWClientV6, 64, ifGWClient),
			addrCmd(tp.GWServerV4, 24, ifGWServer),
			addrCmd(tp.GWServerV6, 64, ifGWServer),
		},
		tp.Server: {
			"link set lo up",
			"link set " + ifServer + " up",
			addrCmd(tp.ServerV4, 24, ifServer),
			addrCmd(tp.ServerV6, 64, ifServer),
			// Secondary (v4) and deprecated (v6): sources only when bound.
			addrCmd(tp.OtherServerV4, 24, ifServer),
			addrCmd(tp.OtherServerV6, 64, ifServer) + " preferred_lft 0",
			"route add default via " + tp.GWServerV4.String() + " dev " + ifServer,
			"route add default via " + tp.GWServerV6.String() + " dev " + ifServer,
		},
	}
	for _, ns := range tp.Namespaces() {
		file := filepath.Join(tp.Dir, ns+".ip")
		if err := os.WriteFile(file, []byte(strings.Join(batches[ns], "\n")+"\n"), 0o644); err != nil {
			return fmt.Errorf("write ip batch: %w", err)
		}
		if _, _, err := run(ctx, "ip", "-n", ns, "-batch", file); err != nil {
			return err
		}
	}
	return tp.firewall(ctx)
}

// firewall installs the gateways' forward table unless Options.Forward.
func (tp *Topology) firewall(ctx context.Context) error {
	if tp.opts.Forward {
		return nil
	}
	for _, gw := range tp.Gateways() {
		file := filepath.Join(tp.Dir, gw+"-tbfw.nft")
		if err := os.WriteFile(file, []byte(firewallRules), 0o644); err != nil {
			return fmt.Errorf("write firewall: %w", err)
		}
		if _, _, err := run(ctx, "ip", "netns", "exec", gw, "nft", "-f", file); err != nil {
			return fmt.Errorf("firewall: %w", err)
		}
	}
	return nil
}

// addrCmd is an `ip addr add` batch line; nodad keeps IPv6 addresses from
// ever being tentative.
func addrCmd(a netip.Addr, bits int, dev string) string {
	s := "addr add " + a.String() + "/" + strconv.Itoa(bits) + " dev " + dev
	if a.Is6() {
		s += " nodad"
	}
	return s
}

// deleteNamespace kills what still runs inside ns (all of it was started
// by this topology) and deletes it. A namespace that does not exist is not
// an error.
func (tp *Topology) deleteNamespace(ctx context.Context, ns string) error {
	if _, err := os.Stat(filepath.Join(netnsDir, ns)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if out, _, err := run(ctx, "ip", "netns", "pids", ns); err == nil {
		self := os.Getpid()
		for _, f := range strings.Fields(out) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid <= 1 || pid == self {
				continue
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if _, _, err := run(ctx, "ip", "netns", "delete", ns); err != nil {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	return nil
}

// SetForward sets the policy of gw's forward chain in table inet tbfw: true (accept) lets
// client and server talk directly through plain kernel forwarding, false (drop) leaves only
// what a local proxy on gw terminates. It needs the table Options.Forward false installs.
func (tp *Topology) SetForward(ctx context.Context, accept bool) error {
	policy := "drop"
	if accept {
		policy = "accept"
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := tp.Exec(sctx, tp.GW, "nft", "add", "chain", "inet", "tbfw", "forward",
		"{ type filter hook forward priority filter; policy "+policy+"; }"); err != nil {
		return fmt.Errorf("testbed: set gw forward policy %s: %w", policy, err)
	}
	return nil
}
