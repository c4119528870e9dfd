package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ftpgate/ftpgate/internal/testbed"

	"golang.org/x/sys/unix"
)

// relayFlag runs the bench binary as the relay row's floor relay: `-relay-floor :PORT`.
const relayFlag = "-relay-floor"

// The relay row's own pieces in gw; ftpgate's (mark 0x1, route table 100) stay untouched.
const (
	relayTable      = "bench_relay"
	relayPort       = 2199
	relayMark       = "0x2"
	relayRouteTable = "102"
)

// relayRules hand every TCP connection from the client to the server, control and data
// alike, to the floor relay. Forwarding stays off in this row (tbfw's forward policy drop):
// every byte that reaches the other side went through the relay.
func relayRules(client, server netip.Addr) string {
	return fmt.Sprintf(`table ip %s {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		ip saddr %s ip daddr %s meta l4proto tcp tproxy to :%d meta mark set %s accept
	}
}
`, relayTable, client, server, relayPort, relayMark)
}

// relayOn starts the floor relay in gw with its rules and policy routing. The returned
// function stops it and removes them; on error nothing is left.
func relayOn(ctx context.Context, tp *testbed.Topology) (off func() error, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	var undo []func() error
	off = func() error {
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			errs = append(errs, undo[i]())
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("relay: remove: %w", err)
		}
		return nil
	}
	defer func() {
		if err != nil {
			off()
		}
	}()
	proc, err := tp.Start(tp.GW, exe, relayFlag, fmt.Sprintf(":%d", relayPort))
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	undo = append(undo, proc.Stop)
	if err := waitListening(ctx, proc); err != nil {
		return nil, err
	}
	file := filepath.Join(tp.Dir, relayTable+".nft")
	if err := os.WriteFile(file, []byte(relayRules(tp.ClientV4, tp.ServerV4)), 0o644); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	// ip rule add fwmark 0x2 lookup 102; ip route add local 0.0.0.0/0 dev lo table 102
	steps := [][2][]string{
		{{"nft", "-f", file}, {"nft", "delete", "table", "ip", relayTable}},
		{{"ip", "rule", "add", "fwmark", relayMark, "lookup", relayRouteTable}, {"ip", "rule", "del", "fwmark", relayMark, "lookup", relayRouteTable}},
		{{"ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", relayRouteTable}, {"ip", "route", "flush", "table", relayRouteTable}},
	}
	for _, st := range steps {
		if _, err := execShort(ctx, tp, tp.GW, st[0][0], st[0][1:]...); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		rm := st[1]
		undo = append(undo, func() error {
			_, err := execShort(context.WithoutCancel(ctx), tp, tp.GW, rm[0], rm[1:]...)
			return err
		})
	}
	return off, nil
}

// waitListening waits up to setupTimeout for the relay's "listening" line.
func waitListening(ctx context.Context, proc *testbed.Proc) error {
	deadline := time.Now().Add(setupTimeout)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(proc.Log); strings.Contains(string(b), "relay listening") {
			return nil
		}
		select {
		case <-proc.Done():
			b, _ := os.ReadFile(proc.Log)
			return fmt.Errorf("relay exited at start: %v\n%s", proc.Err(), b)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("relay: not listening in time")
}

// relayFloor is the floor relay: the least a transparent user-space proxy does. It accepts
// every intercepted connection on addr and joins it to a connection from gw's own address to
// the original destination with two io.Copy calls (splice between TCP sockets), passing
// each half-close on. It runs until SIGTERM or SIGINT.
func relayFloor(addr string, w io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(ctx, "tcp4", addr)
	if err != nil {
		fmt.Fprintf(w, "relay: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(w, "relay listening on %s\n", ln.Addr())
	context.AfterFunc(ctx, func() { ln.Close() })
	var wg sync.WaitGroup
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		wg.Go(func() { relayConn(ctx, c.(*net.TCPConn)) })
	}
	wg.Wait()
	return exitPass
}

// relayConn joins c to its original destination until both directions have ended.
func relayConn(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	var d net.Dialer
	sc, err := d.DialContext(ctx, "tcp4", c.LocalAddr().String())
	if err != nil {
		return
	}
	s := sc.(*net.TCPConn)
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { c.Close(); s.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		io.Copy(s, c)
		s.CloseWrite()
		close(done)
	}()
	io.Copy(c, s)
	c.CloseWrite()
	<-done
}
