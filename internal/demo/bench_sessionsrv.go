package main

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// Anonymous credentials of the session server.
const (
	anonUser = "anonymous"
	anonPass = "bench@example.org"
)

// sessionServerConfig is the configuration of the bench's session server: vsftpd on the
// server's IPv4 address, anonymous logins only (as the system's "ftp" user, which Debian's
// vsftpd package creates), one process per session (one_process_model, allowed for anonymous
// only) and no session limits. The testbed's vsftpd keeps vsftpd's built-in limit of 50
// sessions per client address (max_per_ip), and every session through ftpgate comes from
// the one client address, so it refuses the 51st.
const sessionServerConfig = `listen=YES
listen_ipv6=NO
listen_address=%s
listen_port=21
background=NO
anonymous_enable=YES
local_enable=NO
write_enable=NO
anon_root=%s
no_anon_password=NO
one_process_model=YES
max_clients=0
max_per_ip=0
seccomp_sandbox=NO
isolate_network=NO
isolate=NO
secure_chroot_dir=%s
syslog_enable=NO
xferlog_enable=NO
vsftpd_log_file=%s
idle_session_timeout=600
`

// startSessionServer runs the session server in the server namespace, with FTPS when s is
// set, in place of the testbed's vsftpd (which must be stopped: both use port 21). It returns
// once the server answers with a 220 greeting; the caller stops the process.
func startSessionServer(ctx context.Context, b *bed, s *ftpsSetup) (*testbed.Proc, error) {
	dir := filepath.Join(b.tp.Dir, "session-server")
	anon, empty := filepath.Join(dir, "anon"), filepath.Join(dir, "empty")
	for _, d := range []string{anon, empty} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("session server: %w", err)
		}
	}
	conf := fmt.Sprintf(sessionServerConfig, b.tp.ServerV4, anon, empty, filepath.Join(dir, "vsftpd.log"))
	name := "vsftpd.conf"
	if s != nil {
		conf += testbed.VsftpdTLSConfig(&testbed.TLSOptions{CertFile: s.vsftpdCert, KeyFile: s.vsKey}, false)
		name = "vsftpd-tls.conf"
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("session server: %w", err)
	}
	p, err := b.tp.Start(b.tp.Server, "vsftpd", path)
	if err != nil {
		return nil, fmt.Errorf("session server: %w", err)
	}
	if err := waitGreeting(ctx, b, p, netip.AddrPortFrom(b.tp.ServerV4, 21)); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("session server: %w", err)
	}
	return p, nil
}

// waitGreeting polls ap from the server namespace (bounded: 100 tries, 50 ms apart) until it
// answers with a 220 line or p exits.
func waitGreeting(ctx context.Context, b *bed, p *testbed.Proc, ap netip.AddrPort) error {
	var last error
	for range 100 {
		select {
		case <-p.Done():
			return fmt.Errorf("vsftpd exited: %w\n%s", p.Err(), tail(readText(p.Log), 5))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if last = greeting(ctx, b, ap); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no greeting on %s: %w", ap, last)
}

// greeting connects to ap from the server namespace and reads a 220 line.
func greeting(ctx context.Context, b *bed, ap netip.AddrPort) error {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := b.tp.DialContext(dctx, b.tp.Server, "tcp", ap.String())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q", strings.TrimSpace(line))
	}
	return nil
}

// readText returns a file's content, or the error reading it.
func readText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
