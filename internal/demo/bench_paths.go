package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// errRowNA marks a row that cannot be measured with this ftpgate or on this kernel (the
// kernel data path, the packet filter's queues not available; naError says why); the row is
// printed as n/a and the bench goes on.
var errRowNA = errors.New("row not available")

// kernelNA is the kernel row's cell when ftpgate refuses data_path: kernel.
const kernelNA = "n/a (data_path: kernel not available)"

// hashNA is the hashed row's cell when ftpgate does not know transfer_hash.
const hashNA = "n/a (transfer_hash not available)"

// benchEnv is what the rows share: the bed, the flags and the gateway configurations.
type benchEnv struct {
	b *bed
	c config
	p *printer
	// proxyConfig, hashedConfig and kernelConfig are the configuration files of the plain
	// gateway rows; hasDataPath and hasHash say ftpgate knows the data_path and
	// transfer_hash keys.
	proxyConfig, hashedConfig, kernelConfig string
	hasDataPath, hasHash                    bool
	// observeConfig and icapConfig are the inspection rows' configuration files, built on
	// proxiedText (the proxied row's); observeNA and icapNA say why ftpgate refused them.
	observeConfig, icapConfig, proxiedText string
	observeNA, icapNA                      string
	// queuedConfig are the packet filter rows' configuration files (without and with
	// sha256); queuedNA say why a row cannot run (ftpgate refused it, or has no kernel data
	// path).
	queuedConfig, queuedNA [2]string
	// scanner is the ICAP row's c-icap + clamd while it runs; stamps counts the ICAP row's
	// runs, whose files get unique contents (stampFiles).
	scanner *testbed.Scanner
	stamps  int
	ftps    *ftpsSetup
	// tlsGW and tlsServer are the Go client's TLS configurations trusting the gateway's CA
	// and vsftpd's CA.
	tlsGW, tlsServer *tls.Config
	// warnedTW says the TIME-WAIT warning has been printed; noFileRaised that the
	// descriptor limit was raised (or tried).
	warnedTW, noFileRaised bool
}

// newBenchEnv writes the gateway configurations, asks ftpgate (`ftpgate check`) whether it
// knows data_path and transfer_hash and accepts the inspection and packet filter rows'
// configurations, and prepares the FTPS certificates.
func newBenchEnv(ctx context.Context, p *printer, b *bed, c config) (*benchEnv, error) {
	e := &benchEnv{b: b, c: c, p: p,
		proxyConfig:  filepath.Join(b.tp.Dir, "ftpgate-proxy.yaml"),
		hashedConfig: filepath.Join(b.tp.Dir, "ftpgate-hashed.yaml"),
		kernelConfig: filepath.Join(b.tp.Dir, "ftpgate-kernel.yaml")}
	if err := os.WriteFile(e.kernelConfig, []byte(gatewayConfig("kernel")), 0o644); err != nil {
		return nil, fmt.Errorf("gateway configuration: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	out, err := exec.CommandContext(cctx, c.bin, "check", "-c", e.kernelConfig).CombinedOutput()
	cancel()
	switch {
	case err == nil:
		e.hasDataPath = true
	case strings.Contains(string(out), "data_path"):
		p.step("ftpgate check: %s", firstLine(errors.New(strings.TrimSpace(string(out)))))
	default:
		return nil, fmt.Errorf("ftpgate check -c %s: %w\n%s", e.kernelConfig, err, tail(string(out), 5))
	}
	// The proxied row names its path when ftpgate can: data_path's default (auto) would take
	// the kernel path where it can. It splices (transfer_hash: none); the hashed row is the
	// same with the default transfer_hash: sha256.
	proxy := ""
	if e.hasDataPath {
		proxy = "proxy"
	}
	hashed := gatewayConfig(proxy) + "    transfer_hash: sha256\n"
	if err := os.WriteFile(e.hashedConfig, []byte(hashed), 0o644); err != nil {
		return nil, fmt.Errorf("gateway configuration: %w", err)
	}
	cctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	e.hasHash = exec.CommandContext(cctx, c.bin, "check", "-c", e.hashedConfig).Run() == nil
	cancel()
	plain := gatewayConfig(proxy)
	if e.hasHash {
		plain += "    transfer_hash: none\n"
	}
	if err := os.WriteFile(e.proxyConfig, []byte(plain), 0o644); err != nil {
		return nil, fmt.Errorf("gateway configuration: %w", err)
	}
	if err := e.writeInspectConfigs(ctx, plain); err != nil {
		return nil, err
	}
	if err := e.writeQueuedConfig(ctx); err != nil {
		return nil, err
	}
	e.ftps, err = newFTPSSetup(filepath.Join(b.tp.Dir, "ftps"), []netip.Addr{b.tp.ServerV4, b.tp.ServerV6})
	if err != nil {
		return nil, err
	}
	if e.tlsGW, err = clientTLS(e.ftps.gwPKI.CACert, b.tp.ServerV4); err != nil {
		return nil, err
	}
	if e.tlsServer, err = clientTLS(e.ftps.serverPKI.CACert, b.tp.ServerV4); err != nil {
		return nil, err
	}
	return e, nil
}

// gatewayArgs are ftpgate's arguments for a gateway row.
func (e *benchEnv) gatewayArgs(id rowID) []string {
	switch id {
	case rowKernel:
		return []string{"-c", e.kernelConfig}
	case rowQueued:
		return []string{"-c", e.queuedConfig[0]}
	case rowQueuedHashed:
		return []string{"-c", e.queuedConfig[1]}
	case rowHashed:
		return []string{"-c", e.hashedConfig}
	case rowObserve:
		return []string{"-c", e.observeConfig}
	case rowICAP:
		return []string{"-c", e.icapConfig}
	case rowFTPSGate:
		return []string{"-c", e.ftps.config}
	default:
		return []string{"-c", e.proxyConfig}
	}
}

// target is where the Go client connects for row id: always the server's address (the
// gateway is transparent), with the TLS configuration the row needs.
func (e *benchEnv) target(id rowID) ftpTarget {
	t := ftpTarget{tp: e.b.tp, addr: netip.AddrPortFrom(e.b.tp.ServerV4, 21), user: e.b.srv.User, pass: e.b.srv.Pass}
	switch id {
	case rowFTPSGate:
		t.tls = e.tlsGW
	case rowFTPSFwd:
		t.tls = e.tlsServer
	}
	return t
}

// caFile is the CA curl trusts for row id, "" for plain FTP.
func (e *benchEnv) caFile(id rowID) string {
	switch id {
	case rowFTPSGate:
		return e.ftps.gwPKI.CACert
	case rowFTPSFwd:
		return e.ftps.serverPKI.CACert
	}
	return ""
}

// openRow sets gw up for row id: forwarding opened, the conntrack helper installed, or
// ftpgate started. It returns the gateway (nil for the forwarding rows) and the function
// that undoes the setup.
func (e *benchEnv) openRow(ctx context.Context, id rowID) (*scenario.Gateway, func() error, error) {
	tp := e.b.tp
	switch id {
	case rowForward, rowFTPSFwd:
		if err := tp.SetForward(ctx, true); err != nil {
			return nil, nil, err
		}
		return nil, func() error { return tp.SetForward(context.WithoutCancel(ctx), false) }, nil
	case rowHelper:
		off, err := helperOn(ctx, tp)
		return nil, off, err
	case rowRelay:
		off, err := relayOn(ctx, tp)
		if err != nil {
			return nil, nil, err
		}
		return nil, func() error {
			ctx := context.WithoutCancel(ctx)
			return errors.Join(off(), e.clearTimeWait(ctx))
		}, nil
	}
	g, err := e.b.startGateway(ctx, e.c.bin, e.gatewayArgs(id)...)
	if err != nil {
		if na := rowUnavailable(id, err); na != nil {
			return nil, nil, na
		}
		return nil, nil, err
	}
	return g, func() error { return e.stopGateway(context.WithoutCancel(ctx), g) }, nil
}

// stopGateway stops ftpgate and then removes the TIME-WAIT sockets its sessions left in gw.
// gw is gateway and router by turns here, and the socket lookup precedes routing: a forwarded
// packet whose addresses and ports match such a socket is taken for it, so a client that
// reuses a port of a gateway row would wait in vain for its connection in a forwarding row.
func (e *benchEnv) stopGateway(ctx context.Context, g *scenario.Gateway) error {
	if err := g.Stop(); err != nil {
		return fmt.Errorf("stop ftpgate: %w", err)
	}
	return e.clearTimeWait(ctx)
}

// clearTimeWait removes the TIME-WAIT sockets a transparent proxy (ftpgate, the floor
// relay) left in gw; see stopGateway.
func (e *benchEnv) clearTimeWait(ctx context.Context) error {
	tp := e.b.tp
	if _, err := execShort(ctx, tp, tp.GW, "ss", "-K", "-tan", "state", "time-wait"); err != nil {
		return fmt.Errorf("remove gw's TIME-WAIT sockets: %w", err)
	}
	left, err := execShort(ctx, tp, tp.GW, "ss", "-Htan", "state", "time-wait")
	if err != nil {
		return err
	}
	if n := len(strings.Fields(left)); n > 0 && !e.warnedTW {
		e.warnedTW = true // ss -K needs CONFIG_INET_DIAG_DESTROY
		e.p.step("warning: gw keeps TIME-WAIT sockets after ss -K; forwarded connections that reuse their ports may stall")
	}
	return nil
}

// checkPath proves that a run's transfers took the row's path: through ftpgate, the transfer
// records show every byte (and, on the inspection rows, the hook's verdict; on the packet
// filter row, the kernel path and the filter's account of every byte); under the conntrack
// helper, its related rule let the data connections through.
func (e *benchEnv) checkPath(ctx context.Context, id rowID, g *scenario.Gateway, size int64) error {
	if g != nil {
		if err := errors.Join(checkTransferRecord(g, "RETR", benchFile, size),
			checkTransferRecord(g, "STOR", uploadName, size), checkVerdicts(g, id), checkFiltered(g, id, size)); err != nil {
			return err
		}
	}
	if id != rowHelper {
		return nil
	}
	n, err := helperRelated(ctx, e.b.tp)
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("conntrack helper: no data connection was accepted as related")
	}
	return nil
}
