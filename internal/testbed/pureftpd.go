package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// PureOptions adjust pure-ftpd for edge-case tests; the zero value is an
// ordinary server.
//
// pure-ftpd cannot disable EPSV (nor can vsftpd); StartProFTPd with
// ProOptions.DenyEPSV plays a server that refuses it.
type PureOptions struct {
	// PassiveIP, when valid, is announced in 227 replies instead of the
	// server's own address (pure-ftpd -P, "force passive IP"). IPv4 only;
	// it affects the IPv4 listener.
	PassiveIP netip.Addr
	// TLS, when set, enables explicit FTPS (AUTH TLS) with -Y 1 (TLS
	// optional) or, with TLS.ForceTLS, -Y 2 (TLS required on the control
	// connection); the certificate and key are joined into one file for
	// -2. RequireReuse and Implicit are not supported by pure-ftpd,
	// which resumes an offered TLS session on data connections in TLS 1.2
	// but never in TLS 1.3, and requires neither.
	TLS *TLSOptions
}

// StartPureFTPd runs pure-ftpd (unpacked by `make deps` at PureFTPdPath) in
// the server namespace, one process per address family (-S ServerV4,21 and
// -S ServerV6,21), with the same FTP user, root and passive port range
// (30000-30999) as StartVsftpd, authenticating with `-l unix` against
// bind-mounted private passwd/shadow/group files. Anonymous logins are
// refused. Only one FTP server can run in a topology at a time.
//
// pure-ftpd logs only to syslog, which does not exist here: the transfer
// log (-O clf:) goes to tp.Dir/pure-ftpd/xfer4.log and xfer6.log, and its
// stdout/stderr to the Proc logs. Unlike vsftpd it supports MLSD/MLST, and
// it answers PASV on an IPv6 control connection with 425 (use EPSV). It
// returns once both listeners answer with a 220 banner.
func (tp *Topology) StartPureFTPd(ctx context.Context, o PureOptions) (*FTPServer, error) {
	if err := checkBinary(PureFTPdPath); err != nil {
		return nil, fmt.Errorf("testbed: pure-ftpd: %w", err)
	}
	if o.PassiveIP.IsValid() && !o.PassiveIP.Unmap().Is4() {
		return nil, fmt.Errorf("testbed: pure-ftpd: PassiveIP %s is not IPv4", o.PassiveIP)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	pdir := filepath.Join(tp.Dir, "pure-ftpd")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: pure-ftpd: %w", err)
	}
	var tlsArgs []string
	if o.TLS != nil {
		var err error
		if tlsArgs, err = pureTLSArgs(o.TLS, pdir); err != nil {
			return nil, fmt.Errorf("testbed: pure-ftpd: %w", err)
		}
	}
	srv, etc, err := tp.prepareUser(pdir)
	if err != nil {
		return nil, fmt.Errorf("testbed: pure-ftpd: %w", err)
	}
	srv.Name = "pure-ftpd"
	srv.AnonRoot = "" // anonymous logins are refused (-E)
	addrs := []netip.Addr{tp.ServerV4, tp.ServerV6}
	for _, addr := range addrs {
		args := pureArgs(addr, pdir)
		if o.PassiveIP.IsValid() && addr.Is4() {
			args = append(args, "-P", o.PassiveIP.Unmap().String())
		}
		args = append(args, tlsArgs...)
		p, err := tp.startWithUser(etc, PureFTPdPath, args...)
		if err != nil {
			return nil, fmt.Errorf("testbed: pure-ftpd: %w", err)
		}
		srv.Procs = append(srv.Procs, p)
	}
	if err := tp.waitServer(ctx, srv.Procs, addrs); err != nil {
		return nil, fmt.Errorf("testbed: pure-ftpd: %w", err)
	}
	return srv, nil
}

// pureArgs are the command-line options of the pure-ftpd listener on addr.
func pureArgs(addr netip.Addr, logDir string) []string {
	fam := "4"
	if addr.Is6() {
		fam = "6"
	}
	return []string{
		"-S", addr.String() + ",21", // one listener per process
		"-l", "unix", // getpwnam/getspnam + crypt: the bind-mounted files
		"-u", "1", // minimum UID (the test user's is ≥ 2121)
		"-E",         // no anonymous logins
		"-H",         // no reverse DNS
		"-f", "none", // no syslog
		"-p", "30000:30999", // passive ports
		"-U", "022:022", // umask files:dirs
		"-c", "50", // max clients
		"-C", "50", // max clients per IP (all tests share a few addresses)
		"-I", "15", // idle timeout, minutes
		"-O", "clf:" + filepath.Join(logDir, "xfer"+fam+".log"),
	}
}
