package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// setupTimeout bounds building the topology and starting vsftpd.
const setupTimeout = 30 * time.Second

// table is the nft table ftpgate owns (its default name, inside the gateway namespace).
const table = "ftpgate"

// bed is a topology with vsftpd running in the server namespace, in a temporary directory.
type bed struct {
	tp      *testbed.Topology
	srv     *testbed.FTPServer
	dir     string
	closeTP func() error
	keep    bool
}

// newBed creates the temporary directory and the topology (gw forwarding packets when forward
// is set) and starts vsftpd. On error nothing is left behind.
func newBed(ctx context.Context, p *printer, forward, keep bool) (_ *bed, err error) {
	dir, err := os.MkdirTemp("", "ftpgate-demo-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	b := &bed{dir: dir, keep: keep}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.close(nil))
		}
	}()
	// vsftpd's session runs as the FTP user and must reach the FTP root below dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	b.tp, b.closeTP, err = testbed.NewForDemo(sctx, dir, testbed.Options{Forward: forward})
	if err != nil {
		return nil, fmt.Errorf("build topology: %w", err)
	}
	tp := b.tp
	p.step("topology: network namespaces %s (client), %s (gw), %s (server)", tp.Client, tp.GW, tp.Server)
	p.detail("client %s, %s  <->  gw %s | %s  <->  server %s, %s",
		tp.ClientV4, tp.ClientV6, tp.GWClientV4, tp.GWServerV4, tp.ServerV4, tp.ServerV6)
	if forward {
		p.detail("gw routes between client and server (plain kernel forwarding)")
	} else {
		p.detail("gw forwards nothing (forward chain policy drop): every byte must pass through ftpgate")
	}
	b.srv, err = tp.StartVsftpd(sctx)
	if err != nil {
		return nil, fmt.Errorf("start vsftpd: %w", err)
	}
	p.step("vsftpd: listening on %s:21 and [%s]:21 in the server namespace (user %s)", tp.ServerV4, tp.ServerV6, b.srv.User)
	return b, nil
}

// startGateway runs ftpgate with args in the gw namespace and waits until it serves.
func (b *bed) startGateway(ctx context.Context, bin string, args ...string) (*scenario.Gateway, error) {
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	g, err := scenario.StartGateway(sctx, b.tp, bin, args...)
	if err != nil {
		return nil, fmt.Errorf("start ftpgate: %w", err)
	}
	return g, nil
}

// close stops every process, deletes the namespaces, checks that they are gone and removes
// the directory (unless kept). It reports on p when p is not nil.
func (b *bed) close(p *printer) error {
	var errs []error
	var names []string
	if b.closeTP != nil {
		if err := b.closeTP(); err != nil {
			errs = append(errs, fmt.Errorf("remove topology: %w", err))
		}
		names = b.tp.Namespaces()
		for _, ns := range names {
			if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
				errs = append(errs, fmt.Errorf("namespace %s still exists", ns))
			}
		}
	}
	if b.keep {
		if p != nil {
			p.step("cleanup: processes stopped, namespaces %v deleted; logs kept in %s", names, b.dir)
		}
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(b.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", b.dir, err))
	}
	if p != nil {
		if err := errors.Join(errs...); err != nil {
			p.step("cleanup: FAILED: %v", err)
		} else {
			p.step("cleanup: processes stopped, namespaces %v deleted, %s removed", names, b.dir)
		}
	}
	return errors.Join(errs...)
}
