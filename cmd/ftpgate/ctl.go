package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ftpgate/ftpgate/control"
	"github.com/ftpgate/ftpgate/ftp"
)

// daemon answers the control socket's requests for a running ftpgate (control.Handler).
type daemon struct {
	started   time.Time
	sessions  *ftp.Server
	live      *liveConfig
	listeners []string
	kernel    bool
	log       *slog.Logger
}

// Sessions lists the live sessions.
func (d *daemon) Sessions(context.Context) []ftp.SessionInfo { return d.sessions.Snapshot() }

// Kill ends a live session.
func (d *daemon) Kill(_ context.Context, id uint64, by string) error {
	return d.sessions.Kill(id, by)
}

// Status describes the running daemon.
func (d *daemon) Status(context.Context) control.Status {
	cfg, loaded := d.live.current()
	return control.Status{Version: version, Started: d.started, Uptime: time.Since(d.started).Seconds(),
		ConfigPath: describePath(cfg), ConfigLoaded: loaded, Services: len(cfg.Services),
		Sessions: d.sessions.Sessions(), Listeners: d.listeners, KernelPath: d.kernel}
}

// Reload reloads the configuration as SIGHUP does (the audit log is reopened too); a
// configuration that fails to load changes nothing and is the error.
func (d *daemon) Reload(_ context.Context, by string) (string, error) {
	d.log.Info("configuration reload requested", "by", by)
	d.live.reopenAudit()
	if err := d.live.reload(); err != nil {
		return "", fmt.Errorf("configuration: %w; ftpgate keeps its running configuration", err)
	}
	cfg, _ := d.live.current()
	return fmt.Sprintf("%s: reloaded (%d services)", describePath(cfg), len(cfg.Services)), nil
}

// listenerNames names the listening sockets for the status.
func listenerNames(o options, ctlLns, dataLns []*net.TCPListener, socket string) []string {
	var out []string
	for _, ln := range ctlLns {
		out = append(out, fmt.Sprintf("control %s (transparent; intercepted ports %s)", ln.Addr(), (*portList)(&o.nft.ControlPorts)))
	}
	for _, ln := range dataLns {
		out = append(out, fmt.Sprintf("data %s (transparent)", ln.Addr()))
	}
	if socket != "" {
		out = append(out, "control socket "+socket)
	}
	return out
}

// serveControl serves the control socket, if there is one, until ctx ends.
func serveControl(ctx context.Context, ctl *control.Server, d *daemon) {
	if ctl == nil {
		return
	}
	ctl.Serve(ctx, d)
}

// listeners are what ftpgate listens on: the transparent control and data listeners, and
// the control socket (nil: none).
type listeners struct {
	ctl, data []*net.TCPListener
	socket    *control.Server
}

// openListeners opens the listeners before anything else is changed: a second ftpgate
// started by mistake fails here (port or socket in use) instead of replacing the running
// one's table. The metrics listener (-metrics-addr) is bound here too.
func openListeners(ctx context.Context, o *options, log *slog.Logger) (listeners, error) {
	var (
		lns listeners
		err error
	)
	if lns.ctl, err = listenBoth(ctx, o.nft.ControlListen, log); err != nil {
		return lns, fmt.Errorf("%w (is another ftpgate running?)", err)
	}
	if lns.data, err = listenBoth(ctx, o.nft.DataListen, log); err != nil {
		lns.close()
		return lns, fmt.Errorf("%w (is another ftpgate running?)", err)
	}
	if o.controlSocket != "" {
		if lns.socket, err = control.Listen(ctx, o.controlSocket, log); err != nil {
			lns.close()
			return lns, err
		}
	}
	if err := openMetrics(ctx, o); err != nil {
		lns.close()
		return lns, err
	}
	return lns, nil
}

// close closes the listeners; closing the control socket removes its file.
func (l listeners) close() {
	closeAll(l.ctl)
	closeAll(l.data)
	if l.socket != nil {
		l.socket.Close()
	}
}
