package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FTP account that the Start functions create inside the server's mount namespace.
const (
	FTPUser = "ftpuser"
	FTPPass = "ftppass"
	// ftpPassHash is `openssl passwd -6 -salt ftpgatetb ftppass`.
	ftpPassHash = "$6$ftpgatetb$KbjMNSPt.v6mR0Vgx/ac8ZOsyiK1gHbZ0d1R79j2HRNtf1Kg6i6AVeg8urtF4PpjLsyWUr2ytucvRckkVA2z3/"
	// ftpShell must be listed in /etc/shells (pam_shells).
	ftpShell = "/bin/sh"
	// firstFTPUID is where the search for a free UID/GID starts.
	firstFTPUID = 2121
)

// vsftpdReadyTimeout bounds the wait for a server's 220 banner when the
// caller's context has no deadline.
const vsftpdReadyTimeout = 10 * time.Second

// FTPServer describes the FTP server processes started by StartVsftpd,
// StartPureFTPd or StartProFTPd.
type FTPServer struct {
	// Name is "vsftpd", "pure-ftpd", "proftpd" or "pyftpdlib".
	Name string
	// Root is the FTP user's home directory (writable by the user; the
	// login directory, not a chroot).
	Root string
	// AnonRoot is where anonymous logins ("anonymous", "ftp") land, chrooted and
	// read-only; files put there must be readable by all.
	AnonRoot string
	// User and Pass are the login credentials.
	User, Pass string
	// UID is the FTP user's UID (also its GID); it exists only inside
	// the server's mount namespace.
	UID int
	// Procs are the server processes: IPv4 listener first, then IPv6
	// (proftpd and pyftpdlib: one process serving both).
	Procs []*Proc
}

// VsftpdOptions adjust the vsftpd configuration for edge-case tests. The zero
// value is the ordinary server of StartVsftpd.
type VsftpdOptions struct {
	// PasvAddress, when valid, is announced in 227 replies instead of the
	// server's own address (vsftpd's pasv_address, meant for NAT), e.g.
	// 198.51.100.77 to play a misconfigured server. IPv4 only; it affects
	// the IPv4 listener (EPSV replies carry no address).
	PasvAddress netip.Addr
	// TLS, when set, enables explicit FTPS (AUTH TLS) on port 21 and, with
	// TLS.Implicit, implicit FTPS on ImplicitPort (two more processes,
	// appended to FTPServer.Procs). See TLSOptions and VsftpdTLSConfig.
	TLS *TLSOptions
}

// StartVsftpd runs vsftpd in the server namespace, one process per address
// family, listening on ServerV4:21 and [ServerV6]:21. Passive ports are
// 30000-30999; active mode connects from an ordinary ephemeral port. The
// user FTPUser/FTPPass exists only in vsftpd's private mount namespace
// (bind-mounted copies of /etc/passwd, /etc/shadow and /etc/group). Logs
// (vsftpd protocol log and xferlog) go to tp.Dir. It returns once both
// listeners answer with a 220 banner. It is StartVsftpdWith with zero
// options.
func (tp *Topology) StartVsftpd(ctx context.Context) (*FTPServer, error) {
	return tp.StartVsftpdWith(ctx, VsftpdOptions{})
}

// StartVsftpdWith is StartVsftpd with options. Only one FTP server (vsftpd,
// pure-ftpd, proftpd or pyftpdlib) can run in a topology at a time: all use
// port 21.
func (tp *Topology) StartVsftpdWith(ctx context.Context, o VsftpdOptions) (*FTPServer, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	vdir := filepath.Join(tp.Dir, "vsftpd")
	empty := filepath.Join(vdir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: vsftpd: %w", err)
	}
	srv, etc, err := tp.prepareUser(vdir)
	if err != nil {
		return nil, fmt.Errorf("testbed: vsftpd: %w", err)
	}
	srv.Name = "vsftpd"
	addrs := []netip.Addr{tp.ServerV4, tp.ServerV6}
	for _, addr := range addrs {
		p, err := tp.startVsftpdListener(etc, vdir, empty, addr, srv.AnonRoot, o)
		if err != nil {
			return nil, fmt.Errorf("testbed: vsftpd: %w", err)
		}
		srv.Procs = append(srv.Procs, p)
	}
	if err := tp.waitServer(ctx, srv.Procs, addrs); err != nil {
		return nil, fmt.Errorf("testbed: vsftpd: %w", err)
	}
	if o.TLS != nil && o.TLS.Implicit {
		if err := tp.startVsftpdImplicit(ctx, srv, etc, vdir, empty, o); err != nil {
			_ = srv.Stop()
			return nil, fmt.Errorf("testbed: vsftpd: %w", err)
		}
	}
	return srv, nil
}

// check rejects options StartVsftpdWith cannot honour: a PasvAddress that is
// not IPv4, or invalid TLS options.
func (o VsftpdOptions) check() error {
	if o.PasvAddress.IsValid() && !o.PasvAddress.Unmap().Is4() {
		return fmt.Errorf("testbed: vsftpd: PasvAddress %s is not IPv4", o.PasvAddress)
	}
	if o.TLS != nil {
		if err := o.TLS.check(); err != nil {
			return fmt.Errorf("testbed: vsftpd: %w", err)
		}
	}
	return nil
}

// startVsftpdListener writes the configuration of the explicit listener on
// addr (vsftpd4.conf or vsftpd6.conf in vdir) and starts its vsftpd process
// with the user files in etc.
func (tp *Topology) startVsftpdListener(etc, vdir, empty string, addr netip.Addr, anonRoot string, o VsftpdOptions) (*Proc, error) {
	fam := "4"
	if addr.Is6() {
		fam = "6"
	}
	conf := vsftpdConfig(addr, empty, vdir, fam, anonRoot)
	if o.PasvAddress.IsValid() && addr.Is4() {
		conf += "pasv_address=" + o.PasvAddress.Unmap().String() + "\n"
	}
	if o.TLS != nil {
		conf += VsftpdTLSConfig(o.TLS, false)
	}
	path := filepath.Join(vdir, "vsftpd"+fam+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return tp.startWithUser(etc, "vsftpd", path)
}

// MakeFile creates Root/name with n bytes as MakeFile does, owned by the FTP
// user (so that it may overwrite it), and returns its hex SHA-256.
func (s *FTPServer) MakeFile(name string, n int64) (string, error) {
	path := filepath.Join(s.Root, name)
	sum, err := MakeFile(path, n)
	if err != nil {
		return "", err
	}
	if err := os.Chown(path, s.UID, s.UID); err != nil {
		return "", fmt.Errorf("testbed: %w", err)
	}
	return sum, nil
}

// Stop stops the server processes and returns their errors joined.
func (s *FTPServer) Stop() error {
	var errs []error
	for _, p := range s.Procs {
		errs = append(errs, p.Stop())
	}
	return errors.Join(errs...)
}

// vsftpdConfig is the configuration of the listener on addr.
// Anonymous logins ("anonymous" or "ftp", any password) are enabled too: they map to the FTP
// user and are chrooted to anonRoot, read-only.
func vsftpdConfig(addr netip.Addr, emptyDir, logDir, fam, anonRoot string) string {
	listen := "listen=YES\nlisten_ipv6=NO\nlisten_address=" + addr.String() + "\n"
	if addr.Is6() {
		listen = "listen=NO\nlisten_ipv6=YES\nlisten_address6=" + addr.String() + "\n"
	}
	return listen + `listen_port=21
background=NO
anonymous_enable=YES
anon_root=` + anonRoot + `
ftp_username=` + FTPUser + `
no_anon_password=YES
anon_upload_enable=NO
anon_mkdir_write_enable=NO
allow_writeable_chroot=YES
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=NO
pam_service_name=vsftpd
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30999
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
isolate_network=NO
isolate=NO
secure_chroot_dir=` + emptyDir + `
ssl_enable=NO
syslog_enable=NO
xferlog_enable=YES
dual_log_enable=YES
log_ftp_protocol=YES
xferlog_file=` + filepath.Join(logDir, "xferlog"+fam+".log") + `
vsftpd_log_file=` + filepath.Join(logDir, "vsftpd"+fam+".log") + `
idle_session_timeout=600
data_connection_timeout=300
`
}

// writeUserFiles writes passwd, shadow and group into etc: copies of the
// host's files plus the FTP user (replacing any host entry of that name).
// It returns the user's UID (also its GID).
func writeUserFiles(etc, home string) (int, error) {
	files := map[string]string{}
	for _, name := range []string{"passwd", "shadow", "group"} {
		b, err := os.ReadFile(filepath.Join("/etc", name))
		if err != nil {
			return 0, err
		}
		files[name] = string(b)
	}
	uid := freeID(files["passwd"], files["group"])
	if uid < 0 {
		return 0, errors.New("no free uid/gid")
	}
	id := strconv.Itoa(uid)
	add := map[string]string{
		"passwd": FTPUser + ":x:" + id + ":" + id + ":ftpgate test user:" + home + ":" + ftpShell,
		"shadow": FTPUser + ":" + ftpPassHash + ":19000:0:99999:7:::",
		"group":  FTPUser + ":x:" + id + ":",
	}
	for name, content := range files {
		var out strings.Builder
		for _, line := range strings.SplitAfter(content, "\n") {
			if line == "" || strings.HasPrefix(line, FTPUser+":") {
				continue
			}
			out.WriteString(line)
			if !strings.HasSuffix(line, "\n") {
				out.WriteString("\n")
			}
		}
		out.WriteString(add[name] + "\n")
		mode := os.FileMode(0o644)
		if name == "shadow" {
			mode = 0o640
		}
		if err := os.WriteFile(filepath.Join(etc, name), []byte(out.String()), mode); err != nil {
			return 0, err
		}
	}
	return uid, nil
}

// freeID returns the first ID ≥ firstFTPUID used neither as a UID in passwd
// nor as a GID in group (ignoring an existing FTPUser entry), or -1.
func freeID(passwd, group string) int {
	used := map[int]bool{}
	for _, f := range []struct {
		content string
		field   int
	}{{passwd, 2}, {passwd, 3}, {group, 2}} {
		for _, line := range strings.Split(f.content, "\n") {
			fields := strings.Split(line, ":")
			if len(fields) <= f.field || fields[0] == FTPUser {
				continue
			}
			if n, err := strconv.Atoi(fields[f.field]); err == nil {
				used[n] = true
			}
		}
	}
	for id := firstFTPUID; id < firstFTPUID+10000; id++ {
		if !used[id] {
			return id
		}
	}
	return -1
}

// checkTraversable makes sure every directory above dir can be searched by
// others: vsftpd's session runs as the FTP user when it enters the home.
func checkTraversable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("directory %s is not searchable by others (chmod o+x); the FTP user cannot reach %s", d, dir)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// waitBanner polls ap from inside the server namespace until the server
// answers with a 220 line, the process exits, or ctx ends.
func (tp *Topology) waitBanner(ctx context.Context, p *Proc, ap netip.AddrPort) error {
	return tp.waitFor(ctx, p, ap, "server", tp.banner)
}

// waitFor polls ap with probe (bounded: 200 attempts) until it reads a 220
// line, the process exits, or ctx ends; what names the server in errors.
func (tp *Topology) waitFor(ctx context.Context, p *Proc, ap netip.AddrPort, what string,
	probe func(context.Context, netip.AddrPort) (string, error)) error {
	var last error
	for attempt := 0; attempt < 200; attempt++ {
		select {
		case <-p.Done():
			return fmt.Errorf("%s for %s exited: %w (log %s: %s)", what, ap, p.Err(), p.Log, readClip(p.Log))
		case <-ctx.Done():
			return fmt.Errorf("%s on %s not ready: %w (last: %v)", what, ap, ctx.Err(), last)
		default:
		}
		line, err := probe(ctx, ap)
		if err == nil && strings.HasPrefix(line, "220") {
			return nil
		}
		if err == nil {
			return fmt.Errorf("%s on %s: unexpected greeting %q (log %s)", what, ap, line, p.Log)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s on %s not ready after 200 attempts: %w", what, ap, last)
}

// banner connects to ap from the server namespace and reads the first line.
func (tp *Topology) banner(ctx context.Context, ap netip.AddrPort) (string, error) {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := tp.DialContext(dctx, tp.Server, "tcp", ap.String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read banner: %w", err)
	}
	_, _ = c.Write([]byte("QUIT\r\n"))
	return strings.TrimRight(line, "\r\n"), nil
}

// readClip returns the clipped content of a log file.
func readClip(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return clip(string(b))
}
