package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultPath is where `ftpgate run` listens and the commands connect by default.
const DefaultPath = "/run/ftpgate/control.sock"

// Group is the group that may use the socket besides root, when it exists.
const Group = "ftpgate"

// Listen opens the control socket at path: its directory is created (mode 0750, group
// Group) when missing, a stale socket left by a daemon that died is removed, and the socket
// is made mode 0660, group Group when that group exists and ftpgate runs as root (else it
// stays with ftpgate's own user and group, and root). A socket some process still answers
// on is an error: another ftpgate runs.
func Listen(ctx context.Context, path string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gid := groupID(log)
	if err := makeDir(filepath.Dir(path), gid); err != nil {
		return nil, err
	}
	if err := removeStale(ctx, path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			log.Warn("control socket: cannot give the group "+Group+" access; only root and ftpgate's own user may use it", "path", path, "err", err.Error())
			gid = -1
		}
	}
	log.Info("control socket listening", "path", path, "group_access", gid >= 0)
	return &Server{ln: ln, path: path, log: log}, nil
}

// groupID is the id of Group, or -1 when there is no such group or ftpgate does not run as
// root: only root may give a file to a group it is not in (and the systemd unit's
// system call filter kills a process that calls chown).
func groupID(log *slog.Logger) int {
	if os.Geteuid() != 0 {
		log.Debug("control socket: not root; the socket stays with ftpgate's own user and group")
		return -1
	}
	g, err := user.LookupGroup(Group)
	if err != nil {
		log.Debug("control socket: no group "+Group+"; only root may use it", "err", err.Error())
		return -1
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		return -1
	}
	return id
}

// makeDir creates the socket's directory when it is missing: mode 0750, group gid (if
// not -1). An existing directory keeps its mode and owner.
func makeDir(dir string, gid int) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if gid >= 0 {
		os.Chown(dir, -1, gid) // as root this works; else Listen warns about the socket
	}
	return nil
}

// removeStale removes a socket at path that nobody answers on. A live socket, or a file
// that is not a socket, is an error.
func removeStale(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control socket: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("control socket: %s exists and is not a socket", path)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	if c, err := d.DialContext(dctx, "unix", path); err == nil {
		c.Close()
		return fmt.Errorf("control socket: %s is in use (is another ftpgate running?)", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: remove stale %s: %w", path, err)
	}
	return nil
}
