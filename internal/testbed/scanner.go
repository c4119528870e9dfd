package testbed

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Paths of the scanner daemons (Debian's clamav-daemon and c-icap). They are variables so
// that a caller can point them elsewhere.
var (
	ClamdPath = "/usr/sbin/clamd"
	CICAPPath = "/usr/bin/c-icap"
)

// ScannerPort is the ICAP port c-icap listens on.
const ScannerPort = 1344

// scannerReadyTimeout bounds how long StartScanner waits for clamd and c-icap.
const scannerReadyTimeout = 30 * time.Second

// scannerLogTail is how much of each log Scanner.Logs keeps.
const scannerLogTail = 2 << 10

// EICAR returns the 68-byte EICAR anti-virus test file. It is put together from pieces so
// that no source file carries the signature.
func EICAR() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + eicarCore() + `!$H+H*`)
}

// eicarCore is the part of the EICAR file the test database's signature matches.
func eicarCore() string {
	return strings.Join([]string{"EICAR", "STANDARD", "ANTIVIRUS", "TEST", "FILE"}, "-")
}

// Scanner is a clamd (with a database that knows only EICAR) and a c-icap with its
// virus_scan service on that clamd, running in one namespace of a topology.
type Scanner struct {
	// Addr is the address c-icap listens on (port ScannerPort).
	Addr netip.Addr
	// Dir holds the configurations, the database, the sockets and the logs.
	Dir string
	// ClamdSocket is clamd's local socket.
	ClamdSocket string
	// ClamdConf is clamd's configuration, usable by
	// `clamdscan --config-file=ClamdConf --fdpass --no-summary -`.
	ClamdConf string
	// ICAPConf is c-icap's configuration.
	ICAPConf string
	// Procs are clamd and c-icap.
	Procs []*Proc
}

// StartScanner starts a clamd and a c-icap in namespace ns, c-icap listening on
// addr:1344, with everything in dir (created, mode 0755): a ClamAV database that knows only
// EICAR (Eicar-Test-Signature-NDB, reported as Eicar-Test-Signature-NDB.UNOFFICIAL), a
// clamd.conf (a local socket, no TCP) and a c-icap.conf whose virus_scan scans every file
// type whatever its size. The ICAP service avscan is
// virus_scan?allow204=on&sizelimit=off&mode=simple (the virus_scan service's default
// trickle mode can let a virus through: see README, "ICAP hooks"). It returns once clamd answers
// PING and c-icap accepts connections (within 30 s); on failure it stops them and the
// error has the tails of their logs. Both run as root; the topology's cleanup stops them
// too. It returns ErrNotInstalled (wrapped) when a daemon is missing.
func (tp *Topology) StartScanner(ctx context.Context, ns string, addr netip.Addr, dir string) (*Scanner, error) {
	for _, bin := range []string{ClamdPath, CICAPPath} {
		if _, err := os.Stat(bin); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("testbed: scanner: %s %w (apt-get install clamav-daemon c-icap libc-icap-mod-virus-scan)", bin, ErrNotInstalled)
		}
	}
	mods, err := cicapModules()
	if err != nil {
		return nil, fmt.Errorf("testbed: scanner: %w", err)
	}
	if err := tp.checkNS(ns); err != nil {
		return nil, err
	}
	s := &Scanner{Addr: addr, Dir: dir, ClamdSocket: filepath.Join(dir, "clamd.sock"),
		ClamdConf: filepath.Join(dir, "clamd.conf"), ICAPConf: filepath.Join(dir, "c-icap.conf")}
	if err := s.writeFiles(mods); err != nil {
		return nil, fmt.Errorf("testbed: scanner: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, scannerReadyTimeout)
	defer cancel()
	if err := s.start(ctx, tp, ns); err != nil {
		err = fmt.Errorf("testbed: scanner in %s: %w\n%s", ns, err, s.Logs())
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

// cicapModules returns the directory of c-icap's modules and services (Debian's
// /usr/lib/<triplet>/c_icap), where virus_scan.so and clamd_mod.so must be.
func cicapModules() (string, error) {
	found, _ := filepath.Glob("/usr/lib/*/c_icap/virus_scan.so")
	for _, f := range found {
		dir := filepath.Dir(f)
		if _, err := os.Stat(filepath.Join(dir, "clamd_mod.so")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("c-icap's virus_scan.so and clamd_mod.so %w (apt-get install libc-icap-mod-virus-scan)", ErrNotInstalled)
}

// start starts clamd, waits for its PONG, then starts c-icap and waits until it accepts.
func (s *Scanner) start(ctx context.Context, tp *Topology, ns string) error {
	clamd, err := tp.Start(ns, ClamdPath, "--config-file="+s.ClamdConf)
	if err != nil {
		return err
	}
	s.Procs = append(s.Procs, clamd)
	if err := waitReady(ctx, clamd, "clamd", s.pingClamd); err != nil {
		return err
	}
	icap, err := tp.Start(ns, CICAPPath, "-N", "-D", "-d", "1", "-f", s.ICAPConf)
	if err != nil {
		return err
	}
	s.Procs = append(s.Procs, icap)
	ap := netip.AddrPortFrom(s.Addr, ScannerPort).String()
	return waitReady(ctx, icap, "c-icap", func(ctx context.Context) error {
		c, err := tp.DialContext(ctx, ns, "tcp", ap)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// waitReady polls ready every 100 ms until it succeeds, p exits or ctx ends.
func waitReady(ctx context.Context, p *Proc, name string, ready func(context.Context) error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := ready(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited: %v (last check: %w)", name, p.Err(), err)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last check: %w)", name, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// pingClamd sends clamd PING on its socket and expects PONG.
func (s *Scanner) pingClamd(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", s.ClamdSocket)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("zPING\x00")); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(c, 64))
	if string(b) != "PONG\x00" {
		return fmt.Errorf("clamd answered PING with %q (%v)", b, err)
	}
	return nil
}

// URL returns the ICAP URL of service, e.g. icap://203.0.113.2:1344/avscan.
func (s *Scanner) URL(service string) string {
	return "icap://" + netip.AddrPortFrom(s.Addr, ScannerPort).String() + "/" + strings.TrimPrefix(service, "/")
}

// Stop stops c-icap and clamd.
func (s *Scanner) Stop() error {
	var errs []error
	for i := len(s.Procs) - 1; i >= 0; i-- {
		errs = append(errs, s.Procs[i].Stop())
	}
	return errors.Join(errs...)
}

// Logs returns the tails of clamd's and c-icap's logs, for test failure messages.
func (s *Scanner) Logs() string {
	logs := []string{filepath.Join(s.Dir, "clamd.log"), filepath.Join(s.Dir, "server.log"), filepath.Join(s.Dir, "access.log")}
	for _, p := range s.Procs {
		logs = append(logs, p.Log)
	}
	var b strings.Builder
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if len(data) > scannerLogTail {
			data = append([]byte("…"), data[len(data)-scannerLogTail:]...)
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", path, strings.TrimSpace(string(data)))
	}
	return b.String()
}

// writeFiles writes the database and the configurations into s.Dir.
func (s *Scanner) writeFiles(mods string) error {
	db, tmp := filepath.Join(s.Dir, "db"), filepath.Join(s.Dir, "tmp")
	for _, d := range []string{s.Dir, db, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	ndb := "Eicar-Test-Signature-NDB:0:*:" + hex.EncodeToString([]byte(eicarCore())) + "\n"
	for path, text := range map[string]string{
		filepath.Join(db, "eicar.ndb"): ndb,
		s.ClamdConf:                    s.clamdConf(db),
		s.ICAPConf:                     s.icapConf(tmp, mods),
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// clamdConf is clamd's configuration: foreground, a local socket, no TCP, and limits
// that let it scan objects up to 2000 MiB whole (past ClamAV's default 100 MiB limits it
// would pass them unread).
func (s *Scanner) clamdConf(db string) string {
	return fmt.Sprintf(`Foreground yes
DatabaseDirectory %s
LocalSocket %s
LocalSocketMode 666
FixStaleSocket yes
PidFile %s
LogFile %s
LogTime yes
LogVerbose yes
StreamMaxLength 2000M
MaxFileSize 2000M
MaxScanSize 2000M
MaxThreads 4
SelfCheck 0
`, db, s.ClamdSocket, filepath.Join(s.Dir, "clamd.pid"), filepath.Join(s.Dir, "clamd.log"))
}

// icapConf is c-icap's configuration (with every magic group scanned
// and no size limit).
func (s *Scanner) icapConf(tmp, mods string) string {
	p := func(name string) string { return filepath.Join(s.Dir, name) }
	return fmt.Sprintf(`PidFile %s
CommandsSocket %s
Timeout 300
MaxKeepAliveRequests 100
KeepAliveTimeout 600
StartServers 1
MaxServers 2
MinSpareThreads 5
MaxSpareThreads 10
ThreadsPerChild 10
MaxRequestsPerChild 0
Port %s
ServerAdmin admin@example.invalid
ServerName ftpgate-testbed-icap
TmpDir %s
MaxMemObject 131072
DebugLevel 1
Pipelining on
SupportBuggyClients off
ModulesDir %s
ServicesDir %s
TemplateDir /usr/share/c_icap/templates/
TemplateDefaultLanguage en
LoadMagicFile /etc/c-icap/c-icap.magic
RemoteProxyUsers off
ServerLog %s
AccessLog %s
Service echo srv_echo.so
Module common clamd_mod.so
clamd_mod.ClamdSocket %s
Service virus_scan virus_scan.so
ServiceAlias avscan virus_scan?allow204=on&sizelimit=off&mode=simple
virus_scan.DefaultEngine clamd
virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE GRAPHICS STREAM DOCUMENT
virus_scan.SendPercentData 5
virus_scan.StartSendPercentDataAfter 2M
virus_scan.MaxObjectSize 2000M
virus_scan.Allow204Responces on
virus_scan.PassOnError off
`, p("c-icap.pid"), p("c-icap.ctl"), netip.AddrPortFrom(s.Addr, ScannerPort), tmp, mods, mods,
		p("server.log"), p("access.log"), s.ClamdSocket)
}
