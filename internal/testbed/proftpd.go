package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// ProOptions adjust proftpd for edge-case tests; the zero value is an
// ordinary server.
type ProOptions struct {
	// DenyEPSV refuses EPSV (and EPSV ALL) with
	// "501 EPSV: Operation not permitted" (<Limit EPSV> DenyAll); PASV,
	// PORT and EPRT still work. This is the "server without EPSV" of the
	// tests. Note the code: 501, not 500/502.
	DenyEPSV bool
	// MasqueradeAddress, when valid, is announced in 227 replies instead of
	// the server's own address (MasqueradeAddress). IPv4 only.
	MasqueradeAddress netip.Addr
}

// StartProFTPd runs proftpd (unpacked by `make deps` at ProFTPdPath) in the
// server namespace: one standalone process listening on ServerV4:21 and
// [ServerV6]:21 (SocketBindTight), with the same FTP user, root and passive
// port range (30000-30999) as StartVsftpd, authenticating through
// mod_auth_unix against bind-mounted private passwd/shadow/group files (no
// PAM). mod_delay is off. Anonymous logins are refused. Only one FTP server
// can run in a topology at a time.
//
// Logs go to tp.Dir/proftpd: proftpd.log (system log), xferlog and
// commands.log (every command and reply code). proftpd does not list
// EPSV/PASV in FEAT, supports MLSD/MLST, and answers PASV on an IPv6 control
// connection with a malformed 227. It returns once both addresses answer
// with a 220 banner.
func (tp *Topology) StartProFTPd(ctx context.Context, o ProOptions) (*FTPServer, error) {
	if err := checkBinary(ProFTPdPath); err != nil {
		return nil, fmt.Errorf("testbed: proftpd: %w", err)
	}
	if o.MasqueradeAddress.IsValid() && !o.MasqueradeAddress.Unmap().Is4() {
		return nil, fmt.Errorf("testbed: proftpd: MasqueradeAddress %s is not IPv4", o.MasqueradeAddress)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	pdir := filepath.Join(tp.Dir, "proftpd")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: proftpd: %w", err)
	}
	srv, etc, err := tp.prepareUser(pdir)
	if err != nil {
		return nil, fmt.Errorf("testbed: proftpd: %w", err)
	}
	srv.Name = "proftpd"
	srv.AnonRoot = "" // no <Anonymous> section
	conf := filepath.Join(pdir, "proftpd.conf")
	if err := os.WriteFile(conf, []byte(proConfig(tp.ServerV4, tp.ServerV6, pdir, o)), 0o600); err != nil {
		return nil, fmt.Errorf("testbed: proftpd: %w", err)
	}
	// -n: stay in the foreground; -q: quiet startup.
	p, err := tp.startWithUser(etc, ProFTPdPath, "-n", "-q", "-c", conf)
	if err != nil {
		return nil, fmt.Errorf("testbed: proftpd: %w", err)
	}
	srv.Procs = []*Proc{p}
	if err := tp.waitServer(ctx, srv.Procs, []netip.Addr{tp.ServerV4, tp.ServerV6}); err != nil {
		return nil, fmt.Errorf("testbed: proftpd: %w", err)
	}
	return srv, nil
}

// proConfig is proftpd's configuration for a server on v4 and v6.
func proConfig(v4, v6 netip.Addr, dir string, o ProOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, `ServerType standalone
ServerName "ftpgate testbed proftpd"
Port 21
DefaultAddress %s %s
SocketBindTight on
UseIPv6 on
User nobody
Group nogroup
PidFile %s
ScoreboardFile %s
DelayEngine off
ControlsEngine off
WtmpLog off
UseReverseDNS off
AuthPAM off
AuthOrder mod_auth_unix.c
RequireValidShell off
PassivePorts 30000 30999
MaxInstances 100
TimeoutIdle 900
AllowOverwrite on
Umask 022
SystemLog %s
TransferLog %s
LogFormat cmds "%%a %%u %%t \"%%r\" %%s"
ExtendedLog %s ALL cmds
`, v4, v6,
		filepath.Join(dir, "proftpd.pid"), filepath.Join(dir, "proftpd.scoreboard"),
		filepath.Join(dir, "proftpd.log"), filepath.Join(dir, "xferlog"), filepath.Join(dir, "commands.log"))
	if o.MasqueradeAddress.IsValid() {
		fmt.Fprintf(&b, "MasqueradeAddress %s\n", o.MasqueradeAddress.Unmap())
	}
	if o.DenyEPSV {
		b.WriteString("<Limit EPSV>\n  DenyAll\n</Limit>\n")
	}
	return b.String()
}
