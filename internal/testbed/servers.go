package testbed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
)

// CacheDir is where `make deps` unpacks FTP servers that Debian does not let
// us install beside vsftpd (pure-ftpd and proftpd conflict with it): each
// package is extracted with `dpkg -x` into CacheDir/<package>.
const CacheDir = "/var/cache/ftpgate-testbed"

// Paths of the unpacked server binaries. They are variables so that a
// caller can point them elsewhere.
var (
	PureFTPdPath = filepath.Join(CacheDir, "pure-ftpd", "usr", "sbin", "pure-ftpd")
	ProFTPdPath  = filepath.Join(CacheDir, "proftpd-core", "usr", "sbin", "proftpd")
)

// ErrNotInstalled is returned (wrapped) by the Start functions when a server
// binary is missing; tests may skip on it with errors.Is.
var ErrNotInstalled = errors.New("not installed")

// checkBinary reports a missing server binary with a hint to run make deps.
func checkBinary(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %w: run `make deps` (as root) to unpack it into %s", path, ErrNotInstalled, CacheDir)
	}
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file; rerun `make deps` after removing %s", path, CacheDir)
	}
	return nil
}

// withDeadline gives ctx the default readiness timeout when it has none.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, vsftpdReadyTimeout)
}

// prepareUser creates the shared FTP root (tp.Dir/ftproot, owned by the FTP
// user), the anonymous root (tp.Dir/anonroot, owned by root) and, in
// sub/etc, the passwd, shadow and group files that add the FTP user. It
// returns the server description (without processes) and the etc directory.
func (tp *Topology) prepareUser(sub string) (*FTPServer, string, error) {
	root := filepath.Join(tp.Dir, "ftproot")
	anon := filepath.Join(tp.Dir, "anonroot")
	etc := filepath.Join(sub, "etc")
	for _, d := range []string{root, anon, etc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	if err := checkTraversable(root); err != nil {
		return nil, "", err
	}
	uid, err := writeUserFiles(etc, root)
	if err != nil {
		return nil, "", err
	}
	if err := os.Chown(root, uid, uid); err != nil {
		return nil, "", err
	}
	return &FTPServer{Root: root, AnonRoot: anon, User: FTPUser, Pass: FTPPass, UID: uid}, etc, nil
}

// startWithUser starts bin with args in the server namespace after
// bind-mounting etc/passwd, etc/shadow and etc/group over the host's files.
// `ip netns exec` gives the shell a private mount namespace, so the mounts
// are seen by the server only.
func (tp *Topology) startWithUser(etc, bin string, args ...string) (*Proc, error) {
	return tp.Start(tp.Server, "sh", append([]string{"-c",
		`mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/shadow && mount --bind "$3" /etc/group && shift 3 && exec "$@"`,
		"sh", filepath.Join(etc, "passwd"), filepath.Join(etc, "shadow"), filepath.Join(etc, "group"), bin}, args...)...)
}

// waitServer waits until every address in addrs answers on port 21 with a
// 220 banner. procs[i] serves addrs[i], or procs[0] serves all when there
// is one process. On failure it stops the processes.
func (tp *Topology) waitServer(ctx context.Context, procs []*Proc, addrs []netip.Addr) error {
	for i, addr := range addrs {
		p := procs[0]
		if len(procs) == len(addrs) {
			p = procs[i]
		}
		if err := tp.waitBanner(ctx, p, netip.AddrPortFrom(addr, 21)); err != nil {
			for _, p := range procs {
				_ = p.Stop()
			}
			return err
		}
	}
	return nil
}
