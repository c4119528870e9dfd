package testbed

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// DialContext opens a connection from inside namespace ns, as a program
// running there would. The socket stays in ns after the call returns.
func (tp *Topology) DialContext(ctx context.Context, ns, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := tp.inNetns(ns, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("testbed: dial %s %s in %s: %w", network, address, ns, err)
	}
	return conn, nil
}

// Listen opens a listener inside namespace ns. The socket stays in ns after
// the call returns; accepting from it works from any goroutine.
func (tp *Topology) Listen(ctx context.Context, ns, network, address string) (net.Listener, error) {
	var ln net.Listener
	err := tp.inNetns(ns, func() error {
		var lc net.ListenConfig
		var err error
		ln, err = lc.Listen(ctx, network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("testbed: listen %s %s in %s: %w", network, address, ns, err)
	}
	return ln, nil
}

// inNetns runs fn on a fresh OS thread switched into namespace ns. The
// thread never returns to the pool: it stays locked, so Go discards it when
// the goroutine ends, whatever namespace it is in.
func (tp *Topology) inNetns(ns string, fn func() error) error {
	if err := tp.checkNS(ns); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: see above.
		f, err := os.Open(filepath.Join(netnsDir, ns))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
