package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// setupTimeout bounds building (and tearing down) a topology.
const setupTimeout = 60 * time.Second

// Options select how a Topology is built.
type Options struct {
	// Forward lets gw route packets between client and server. When false
	// (the default) gw gets the table
	//
	//	table inet tbfw { chain forward { type filter hook forward priority filter; policy drop; } }
	//
	// so nothing crosses gw unless a local proxy on gw terminates it.
	Forward bool
	// HA builds two gateways (Topology.GW and HA.GW2) on a client LAN and a server LAN with a
	// sync link between them (see HA); the client and the server route through the shared
	// addresses, which nobody holds until keepalived adds them.
	HA bool
}

// Topology is a client, gw and server network namespace triple.
type Topology struct {
	// Client, GW and Server are the namespace names (as in `ip netns list`).
	Client, GW, Server string

	// IPv4 addresses: the client, the client's second address ("another
	// host" for negative tests), gw's address toward the client and toward the
	// server, the server, and the server's second address ("another host" on
	// the server side, never chosen as a source unless bound explicitly).
	ClientV4, OtherV4, GWClientV4, GWServerV4, ServerV4, OtherServerV4 netip.Addr
	// IPv6 addresses, same roles as the IPv4 ones.
	ClientV6, OtherV6, GWClientV6, GWServerV6, ServerV6, OtherServerV6 netip.Addr

	// Dir is the per-run directory for configs, files and logs.
	Dir string

	// HA is the second gateway and the LANs (Options.HA); nil otherwise.
	HA *HA

	opts Options

	mu     sync.Mutex
	procs  []*Proc
	closed bool
}

// Fixed addresses of every topology.
var (
	clientV4   = netip.MustParseAddr("198.51.100.2")
	otherV4    = netip.MustParseAddr("198.51.100.3")
	gwClientV4 = netip.MustParseAddr("198.51.100.1")
	gwServerV4 = netip.MustParseAddr("203.0.113.1")
	serverV4   = netip.MustParseAddr("203.0.113.2")
	otherSrvV4 = netip.MustParseAddr("203.0.113.3")
	clientV6   = netip.MustParseAddr("2001:db8:1::2")
	otherV6    = netip.MustParseAddr("2001:db8:1::3")
	gwClientV6 = netip.MustParseAddr("2001:db8:1::1")
	gwServerV6 = netip.MustParseAddr("2001:db8:2::1")
	serverV6   = netip.MustParseAddr("2001:db8:2::2")
	otherSrvV6 = netip.MustParseAddr("2001:db8:2::3")
)

// New builds a topology for a test and registers its removal with
// t.Cleanup. It skips the test when not running as root and fails it when
// the topology cannot be built.
func New(t testing.TB, opts Options) *Topology {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testbed: needs root for network namespaces")
	}
	dir := t.TempDir()
	// t.TempDir's parent is mode 0700; vsftpd's unprivileged session
	// process must be able to reach the FTP root below it.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("testbed: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	tp, err := build(ctx, dir, opts)
	if err != nil {
		t.Fatalf("testbed: build topology: %v", err)
	}
	t.Cleanup(func() {
		if err := tp.close(); err != nil {
			t.Errorf("testbed: cleanup: %v", err)
		}
	})
	return tp
}

// NewForDemo builds a topology outside of a test (for `make demo` and
// `make bench`). dir is created if needed and holds configs, files and logs;
// it is not removed. The returned close function stops every process
// started with Start and deletes the namespaces; it is safe to call more
// than once. On error nothing is left behind.
func NewForDemo(ctx context.Context, dir string, opts Options) (*Topology, func() error, error) {
	if os.Geteuid() != 0 {
		return nil, nil, errors.New("testbed: needs root for network namespaces")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("testbed: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, nil, fmt.Errorf("testbed: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, setupTimeout)
		defer cancel()
	}
	tp, err := build(ctx, abs, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("testbed: %w", err)
	}
	return tp, tp.close, nil
}

// build creates the namespaces, links, addresses, routes and firewall. On
// error it removes whatever it created.
func build(ctx context.Context, dir string, opts Options) (_ *Topology, err error) {
	var suffix [3]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, fmt.Errorf("random name: %w", err)
	}
	base := "ftpg" + hex.EncodeToString(suffix[:])
	tp := &Topology{
		Client: base + "c", GW: base + "g", Server: base + "s",
		ClientV4: clientV4, OtherV4: otherV4, GWClientV4: gwClientV4, GWServerV4: gwServerV4, ServerV4: serverV4, OtherServerV4: otherSrvV4,
		ClientV6: clientV6, OtherV6: otherV6, GWClientV6: gwClientV6, GWServerV6: gwServerV6, ServerV6: serverV6, OtherServerV6: otherSrvV6,
		Dir:  dir,
		opts: opts,
	}
	if opts.HA {
		tp.HA = newHA(base)
	}
	defer func() {
		if err != nil {
			if cerr := tp.close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("undo: %w", cerr))
			}
		}
	}()
	if err := tp.setup(ctx); err != nil {
		return nil, err
	}
	return tp, nil
}

// Namespaces returns the namespace names: client, gw, server (and with HA the second
// gateway and the switch).
func (tp *Topology) Namespaces() []string {
	if tp.HA != nil {
		return []string{tp.Client, tp.GW, tp.Server, tp.HA.GW2, tp.HA.Switch}
	}
	return []string{tp.Client, tp.GW, tp.Server}
}

// close stops all processes and deletes the namespaces. It runs once; later
// calls return nil.
func (tp *Topology) close() error {
	tp.mu.Lock()
	if tp.closed {
		tp.mu.Unlock()
		return nil
	}
	tp.closed = true
	procs := tp.procs
	tp.procs = nil
	tp.mu.Unlock()

	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		// Exit errors of still-running processes are not cleanup failures.
		_ = procs[i].Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	for _, ns := range tp.Namespaces() {
		if err := tp.deleteNamespace(ctx, ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
