package testbed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// PyftpdlibPython is the interpreter that runs pyftpdlib: Debian's, where
// `make deps` installs python3-pyftpdlib (a python3 earlier in PATH, such as
// a pyenv shim, would not see the package). It is a variable so that a
// caller can point it elsewhere.
var PyftpdlibPython = "/usr/bin/python3"

// pyftpdlibLauncher runs pyftpdlib's FTPServer on the IPv4 and IPv6 address
// (one listener each, sharing one I/O loop, so one process) with the FTP
// user (write access), read-only anonymous logins, passive ports
// 30000-30999 and DEBUG logging to a file, which logs every received
// command as "<- LINE" (PASS masked). It binds port 21 as root and then
// becomes the FTP user, so uploads belong to the user. SIGTERM shuts it
// down cleanly.
const pyftpdlibLauncher = `import logging, os, signal, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

v4, v6, root, anon, user, pw, uid, logpath = sys.argv[1:9]
uid = int(uid)
log = logging.getLogger("pyftpdlib")
h = logging.FileHandler(logpath)
h.setFormatter(logging.Formatter("[%(levelname)1.1s %(asctime)s] %(message)s"))
log.addHandler(h)
log.setLevel(logging.DEBUG)
log.propagate = False

auth = DummyAuthorizer()
auth.add_user(user, pw, root, perm="elradfmwMT")
if anon:
    auth.add_anonymous(anon)
FTPHandler.authorizer = auth
FTPHandler.banner = "ftpgate testbed pyftpdlib"
FTPHandler.passive_ports = range(30000, 31000)
servers = [FTPServer((a, 21), FTPHandler) for a in (v4, v6)]

os.umask(0o022)
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
servers[0].serve_forever()
`

// StartPyftpdlib runs pyftpdlib (Debian's python3-pyftpdlib, installed by
// `make deps`, run by PyftpdlibPython) in the server namespace: one process
// listening on ServerV4:21 and [ServerV6]:21, with the same FTP user, root
// and passive port range (30000-30999) as StartVsftpd. The user is
// pyftpdlib's own (DummyAuthorizer, write access); the process binds as
// root and then runs as the user's UID. Anonymous logins ("anonymous" only)
// land read-only in AnonRoot. Only one FTP server can run in a topology at
// a time.
//
// The launcher script and the log go to tp.Dir/pyftpdlib: pyftpdlib.log is
// pyftpdlib's DEBUG log, with a line "<- COMMAND LINE" for every command
// received (PASS masked) and "-> REPLY" for every reply. pyftpdlib supports
// MLSD/MLST and MFMT, and, like proftpd, answers PASV on an IPv6 control
// connection with a malformed 227 ("(2001:db8:2::2,117,48)"). It returns
// ErrNotInstalled (wrapped) when the module is missing, and otherwise once
// both addresses answer with a 220 banner.
func (tp *Topology) StartPyftpdlib(ctx context.Context) (*FTPServer, error) {
	if err := checkPyftpdlib(ctx); err != nil {
		return nil, fmt.Errorf("testbed: pyftpdlib: %w", err)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	pdir := filepath.Join(tp.Dir, "pyftpdlib")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: pyftpdlib: %w", err)
	}
	// The user files are not needed (pyftpdlib has its own user), but
	// prepareUser also creates the roots and picks a free UID.
	srv, _, err := tp.prepareUser(pdir)
	if err != nil {
		return nil, fmt.Errorf("testbed: pyftpdlib: %w", err)
	}
	srv.Name = "pyftpdlib"
	script := filepath.Join(pdir, "launcher.py")
	if err := os.WriteFile(script, []byte(pyftpdlibLauncher), 0o644); err != nil {
		return nil, fmt.Errorf("testbed: pyftpdlib: %w", err)
	}
	p, err := tp.Start(tp.Server, PyftpdlibPython, script,
		tp.ServerV4.String(), tp.ServerV6.String(), srv.Root, srv.AnonRoot,
		srv.User, srv.Pass, strconv.Itoa(srv.UID), filepath.Join(pdir, "pyftpdlib.log"))
	if err != nil {
		return nil, fmt.Errorf("testbed: pyftpdlib: %w", err)
	}
	srv.Procs = []*Proc{p}
	if err := tp.waitServer(ctx, srv.Procs, []netip.Addr{tp.ServerV4, tp.ServerV6}); err != nil {
		return nil, fmt.Errorf("testbed: pyftpdlib: %w", err)
	}
	return srv, nil
}

// checkPyftpdlib makes sure PyftpdlibPython can import pyftpdlib; a missing
// interpreter or module is ErrNotInstalled.
func checkPyftpdlib(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, PyftpdlibPython, "-c", "import pyftpdlib").CombinedOutput()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) || strings.Contains(string(out), "No module named"):
		return fmt.Errorf("python3-pyftpdlib %w for %s: run `make deps` (as root) to install it", ErrNotInstalled, PyftpdlibPython)
	default:
		return fmt.Errorf("%s -c 'import pyftpdlib': %w: %s", PyftpdlibPython, err, clip(string(out)))
	}
}
