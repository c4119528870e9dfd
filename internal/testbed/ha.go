package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// HA is the second gateway of a topology built with Options.HA: client and server sit on
// two LANs (bridges in a switch namespace) with both gateways, which share the addresses
// the client and the server route through (GWClientV4, GWServerV4 and their IPv6
// counterparts: the virtual addresses keepalived moves), and talk over a third LAN, the
// sync link, where conntrackd runs.
type HA struct {
	// GW2 is the second gateway's namespace (Topology.GW is the first); Switch holds the
	// three bridges.
	GW2, Switch string
	// Own addresses of each gateway (index 0: GW, 1: GW2) on the client LAN, the server LAN
	// and the sync link.
	ClientV4, ServerV4 [2]netip.Addr
	SyncV6             [2]netip.Addr
}

// Interface names of the HA topology: the gateways' sync link, and the switch's bridges.
const (
	IfSync      = "ethy" // in each gateway, toward the sync link
	IfGWClient  = ifGWClient
	IfGWServer  = ifGWServer
	bridgeCli   = "brc"
	bridgeSrv   = "brs"
	bridgeSync  = "bry"
	haPrefixV4  = 24
	haPrefixV6  = 64
	haSyncRange = "2001:db8:ff::"
)

// newHA names the HA parts of a topology whose namespaces start with base.
func newHA(base string) *HA {
	return &HA{
		GW2: base + "h", Switch: base + "w",
		ClientV4: [2]netip.Addr{netip.MustParseAddr("198.51.100.11"), netip.MustParseAddr("198.51.100.12")},
		ServerV4: [2]netip.Addr{netip.MustParseAddr("203.0.113.11"), netip.MustParseAddr("203.0.113.12")},
		SyncV6:   [2]netip.Addr{netip.MustParseAddr(haSyncRange + "11"), netip.MustParseAddr(haSyncRange + "12")},
	}
}

// Gateways returns both gateway namespaces, GW first.
func (tp *Topology) Gateways() []string {
	if tp.HA == nil {
		return []string{tp.GW}
	}
	return []string{tp.GW, tp.HA.GW2}
}

// setupHA builds the HA topology: the switch's bridges, every host's veth into its LAN, the
// gateways' own addresses (the shared ones are keepalived's to add), routes and firewalls.
func (tp *Topology) setupHA(ctx context.Context) error {
	h := tp.HA
	gws := tp.Gateways()
	sw := []string{"link set lo up"}
	for _, br := range []string{bridgeCli, bridgeSrv, bridgeSync} {
		sw = append(sw, "link add "+br+" type bridge", "link set "+br+" up")
	}
	// veth pairs: a host's end (name, namespace) and the switch's port on a bridge.
	type port struct{ ns, dev, swPort, br string }
	ports := []port{{tp.Client, ifClient, "c0", bridgeCli}, {tp.Server, ifServer, "s0", bridgeSrv}}
	for i, gw := range gws {
		n := fmt.Sprint(i + 1)
		ports = append(ports, port{gw, ifGWClient, "g" + n + "c", bridgeCli}, port{gw, ifGWServer, "g" + n + "s", bridgeSrv},
			port{gw, IfSync, "g" + n + "y", bridgeSync})
	}
	for _, p := range ports {
		if _, _, err := run(ctx, "ip", "-n", p.ns, "link", "add", p.dev, "type", "veth", "peer", "name", p.swPort, "netns", tp.HA.Switch); err != nil {
			return err
		}
		sw = append(sw, "link set "+p.swPort+" master "+p.br, "link set "+p.swPort+" up")
	}
	batches := map[string][]string{h.Switch: sw,
		tp.Client: tp.hostBatch(ifClient, tp.GWClientV4, tp.GWClientV6, tp.ClientV4, tp.ClientV6),
		tp.Server: tp.hostBatch(ifServer, tp.GWServerV4, tp.GWServerV6, tp.ServerV4, tp.ServerV6),
	}
	batches[tp.Client] = append(batches[tp.Client], addrCmd(tp.OtherV4, 24, ifClient), addrCmd(tp.OtherV6, 64, ifClient)+" preferred_lft 0")
	batches[tp.Server] = append(batches[tp.Server], addrCmd(tp.OtherServerV4, 24, ifServer), addrCmd(tp.OtherServerV6, 64, ifServer)+" preferred_lft 0")
	for i, gw := range gws {
		batches[gw] = []string{"link set lo up", "link set " + ifGWClient + " up", "link set " + ifGWServer + " up", "link set " + IfSync + " up",
			addrCmd(h.ClientV4[i], haPrefixV4, ifGWClient), addrCmd(h.ServerV4[i], haPrefixV4, ifGWServer),
			addrCmd(h.SyncV6[i], haPrefixV6, IfSync)}
	}
	for ns, lines := range batches {
		file := filepath.Join(tp.Dir, ns+".ip")
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return fmt.Errorf("write ip batch: %w", err)
		}
		if _, _, err := run(ctx, "ip", "-n", ns, "-batch", file); err != nil {
			return err
		}
	}
	return nil
}

// hostBatch is the ip batch of the client or the server in the HA topology: its address on
// dev and its default routes through the shared gateway addresses gw4 and gw6.
func (tp *Topology) hostBatch(dev string, gw4, gw6, a4, a6 netip.Addr) []string {
	return []string{"link set lo up", "link set " + dev + " up",
		addrCmd(a4, 24, dev), addrCmd(a6, 64, dev),
		"route add default via " + gw4.String() + " dev " + dev,
		"route add default via " + gw6.String() + " dev " + dev}
}
