package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// HANode is keepalived and conntrackd on one gateway of an HA topology, configured as
// deploy/ha's examples with the test bed's interfaces and addresses, and the shipped notify
// script.
type HANode struct {
	// NS is the gateway's namespace; Index 0 is Topology.GW, 1 is HA.GW2.
	NS    string
	Index int
	// Keepalived and Conntrackd are the daemons; ConntrackdConf is conntrackd's
	// configuration (the notify script's second argument).
	Keepalived, Conntrackd *Proc
	ConntrackdConf         string
	dir                    string
}

// keepalivedTemplate is deploy/ha/keepalived.conf with the test bed's names: %[1]s the
// router id, %[2]d the priority, %[3]s the notify script, %[4]s its conntrackd.conf,
// %[5]s/%[6]s the client and server interfaces, %[7]s..%[10]s the shared addresses.
const keepalivedTemplate = `global_defs {
    router_id %[1]s
    vrrp_version 3
    enable_script_security
    script_user root
}
vrrp_sync_group ftpgate {
    group {
        client_side
        server_side
    }
    notify_master "%[3]s master %[4]s"
    notify_backup "%[3]s backup %[4]s"
    notify_fault  "%[3]s fault %[4]s"
}
vrrp_instance client_side {
    state BACKUP
    nopreempt
    interface %[5]s
    virtual_router_id 51
    priority %[2]d
    advert_int 0.5
    virtual_ipaddress {
        %[7]s/24 dev %[5]s
    }
    virtual_ipaddress_excluded {
        %[8]s/64 dev %[5]s
    }
}
vrrp_instance server_side {
    state BACKUP
    nopreempt
    interface %[6]s
    virtual_router_id 52
    priority %[2]d
    advert_int 0.5
    virtual_ipaddress {
        %[9]s/24 dev %[6]s
    }
    virtual_ipaddress_excluded {
        %[10]s/64 dev %[6]s
    }
}
`

// conntrackdTemplate is deploy/ha/conntrackd.conf with the test bed's names: %[1]s/%[2]s
// this and the other gateway's sync address, %[3]s the sync interface, %[4]s the node's
// directory (log, lock, socket), %[5]s the ignored addresses.
const conntrackdTemplate = `Sync {
    Mode FTFW {
        DisableExternalCache on
        StartupResync on
    }
    UDP {
        IPv6_address %[1]s
        IPv6_Destination_Address %[2]s
        Port 3780
        Interface %[3]s
        SndSocketBuffer 1249280
        RcvSocketBuffer 1249280
        Checksum on
    }
    Options {
        ExpectationSync {
            ftp
        }
    }
}
General {
    HashSize 32768
    HashLimit 131072
    LogFile %[4]s/conntrackd.log
    LockFile %[4]s/conntrackd.lock
    UNIX {
        Path %[4]s/conntrackd.ctl
    }
    NetlinkBufferSize 2097152
    NetlinkBufferSizeMaxGrowth 8388608
    Filter From Kernelspace {
        Protocol Accept {
            TCP
        }
        Address Ignore {
%[5]s        }
    }
}
`

// StartHANode starts conntrackd, then keepalived, on gateway i (0: GW, 1: GW2) of an HA
// topology. notify is the keepalived notify script (deploy/ha/ftpgate-ha-notify); priority
// decides who becomes master first (higher wins).
func (tp *Topology) StartHANode(ctx context.Context, i, priority int, notify string) (*HANode, error) {
	if tp.HA == nil || i < 0 || i > 1 {
		return nil, errors.New("testbed: StartHANode needs an HA topology and gateway 0 or 1")
	}
	h := tp.HA
	n := &HANode{NS: tp.Gateways()[i], Index: i, dir: filepath.Join(tp.Dir, fmt.Sprintf("ha%d", i))}
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	var ignore strings.Builder
	for _, a := range []string{"127.0.0.1", tp.GWClientV4.String(), tp.GWServerV4.String()} {
		fmt.Fprintf(&ignore, "            IPv4_address %s\n", a)
	}
	for _, a := range []string{"::1", tp.GWClientV6.String(), tp.GWServerV6.String(), h.SyncV6[0].String(), h.SyncV6[1].String()} {
		fmt.Fprintf(&ignore, "            IPv6_address %s\n", a)
	}
	n.ConntrackdConf = filepath.Join(n.dir, "conntrackd.conf")
	ct := fmt.Sprintf(conntrackdTemplate, h.SyncV6[i], h.SyncV6[1-i], IfSync, n.dir, ignore.String())
	ka := fmt.Sprintf(keepalivedTemplate, fmt.Sprintf("ftpgate-%d", i), priority, notify, n.ConntrackdConf,
		ifGWClient, ifGWServer, tp.GWClientV4, tp.GWClientV6, tp.GWServerV4, tp.GWServerV6)
	kaConf := filepath.Join(n.dir, "keepalived.conf")
	for path, text := range map[string]string{n.ConntrackdConf: ct, kaConf: ka} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("testbed: %w", err)
		}
	}
	// A conntrackd that was killed leaves its lock file, and a new one refuses to start while
	// it exists (deploy/ha's notes say the same for a gateway that crashed).
	for _, stale := range []string{"conntrackd.lock", "conntrackd.ctl"} {
		if err := os.Remove(filepath.Join(n.dir, stale)); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("testbed: %w", err)
		}
	}
	var err error
	if n.Conntrackd, err = tp.Start(n.NS, "conntrackd", "-C", n.ConntrackdConf); err != nil {
		return nil, err
	}
	if err := n.waitConntrackd(ctx, tp); err != nil {
		return nil, err
	}
	n.Keepalived, err = tp.Start(n.NS, "keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp",
		"-f", kaConf, "-p", filepath.Join(n.dir, "keepalived.pid"), "-r", filepath.Join(n.dir, "vrrp.pid"),
		"-c", filepath.Join(n.dir, "checkers.pid"))
	return n, err
}

// waitConntrackd waits up to 10 s until conntrackd answers on its socket.
func (n *HANode) waitConntrackd(ctx context.Context, tp *Topology) error {
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-n.Conntrackd.Done():
			b, _ := os.ReadFile(n.Conntrackd.Log)
			return fmt.Errorf("testbed: conntrackd exited: %v\n%s", n.Conntrackd.Err(), b)
		default:
		}
		if _, _, last = tp.Exec(ctx, n.NS, "conntrackd", "-C", n.ConntrackdConf, "-s"); last == nil {
			return nil
		}
	}
	return fmt.Errorf("testbed: conntrackd does not answer: %w", last)
}

// Kill ends the node the hard way, as a crashed gateway: SIGKILL to keepalived and
// conntrackd (whole process groups) and its links down.
func (n *HANode) Kill(ctx context.Context, tp *Topology) error {
	for _, p := range []*Proc{n.Keepalived, n.Conntrackd} {
		if p != nil {
			_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		}
	}
	return tp.LinksDown(ctx, n.NS)
}

// LinksDown takes down every link of gateway namespace ns but lo.
func (tp *Topology) LinksDown(ctx context.Context, ns string) error {
	for _, dev := range []string{ifGWClient, ifGWServer, IfSync} {
		if _, _, err := tp.Exec(ctx, ns, "ip", "link", "set", dev, "down"); err != nil {
			return err
		}
	}
	return nil
}

// LinksUp brings gateway namespace ns's links up again.
func (tp *Topology) LinksUp(ctx context.Context, ns string) error {
	for _, dev := range []string{ifGWClient, ifGWServer, IfSync} {
		if _, _, err := tp.Exec(ctx, ns, "ip", "link", "set", dev, "up"); err != nil {
			return err
		}
	}
	return nil
}

// Master reports whether the node holds the shared client-side address now.
func (n *HANode) Master(ctx context.Context, tp *Topology) bool {
	out, _, err := tp.Exec(ctx, n.NS, "ip", "-4", "addr", "show", "dev", ifGWClient)
	return err == nil && strings.Contains(out, " "+tp.GWClientV4.String()+"/")
}
