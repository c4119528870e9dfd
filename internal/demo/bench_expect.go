package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// ipctnlMsgExpDelete is IPCTNL_MSG_EXP_DELETE; without attributes it deletes every
// expectation of the namespace (what `conntrack -F expect` sends).
const ipctnlMsgExpDelete = 2

// flushExpectations deletes every conntrack expectation in gw and checks that none is left.
// The conntrack helper row needs it: the helper's expectation for each session's last PASV
// outlives the row (the FTP helper gives them 300 s), and while it exists ftpgate's kernel
// path cannot install its own expectation of the same tuple (netlink: file exists).
func flushExpectations(tp *testbed.Topology) error {
	err := inNetns(tp, tp.GW, func() error {
		c, err := netfilter.Dial(nil)
		if err != nil {
			return err
		}
		defer c.Close()
		req, err := netfilter.MarshalNetlink(netfilter.Header{
			SubsystemID: netfilter.NFSubsysCTNetlinkExp, MessageType: ipctnlMsgExpDelete,
			Family: netfilter.ProtoUnspec, Flags: netlink.Request | netlink.Acknowledge,
		}, nil)
		if err != nil {
			return err
		}
		_, err = c.Query(req)
		return err
	})
	if err != nil {
		return fmt.Errorf("flush gw's conntrack expectations: %w", err)
	}
	n, err := countExpectations(tp)
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("flush gw's conntrack expectations: %d left", n)
	}
	return nil
}

// countExpectations returns the number of conntrack expectations in gw.
func countExpectations(tp *testbed.Topology) (int, error) {
	var n int
	err := inNetns(tp, tp.GW, func() error {
		c, err := conntrack.Dial(nil)
		if err != nil {
			return err
		}
		defer c.Close()
		ex, err := c.DumpExpect()
		n = len(ex)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("list gw's conntrack expectations: %w", err)
	}
	return n, nil
}

// inNetns runs fn on a fresh OS thread switched into the topology's namespace ns; sockets fn
// opens stay in ns. The thread stays locked, so Go discards it when the goroutine ends,
// whatever namespace it is in (as testbed does for its own dials).
func inNetns(tp *testbed.Topology, ns string, fn func() error) error {
	if !slices.Contains(tp.Namespaces(), ns) {
		return fmt.Errorf("%q is not a namespace of this topology", ns)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no UnlockOSThread: see above
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
