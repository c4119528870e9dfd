package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ftpgate/ftpgate/sdnotify"

	"github.com/ftpgate/ftpgate/audit"
	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/policy/config"
	"github.com/ftpgate/ftpgate/policy/script"
)

// defaultConfigPath is read when -c is not given; when it does not exist the built-in
// configuration applies.
const defaultConfigPath = config.DefaultPath

// loadConfig reads path; script print() output goes to log. An explicit path must exist; the
// default path may be absent, and then the built-in configuration (config.Default) applies.
func loadConfig(path string, explicit bool, log *slog.Logger) (*config.Config, error) {
	c, err := config.LoadWith(path, script.Options{Log: log})
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		return config.Default(), nil
	}
	return c, err
}

// liveConfig holds the configuration new sessions use; SIGHUP replaces it.
type liveConfig struct {
	path     string
	explicit bool
	cur      atomic.Pointer[config.Config]
	log      *slog.Logger
	hup      <-chan os.Signal // SIGHUPs caught since start; nil: watchReload catches them
	// audit, when set, is reopened on every SIGHUP (after logrotate moved it).
	audit *audit.Log
	// notify tells systemd of reloads (nil: not started by systemd with Type=notify).
	notify *sdnotify.Notifier
	// loaded is when cur was loaded (UnixNano); reloading serialises reloads, which come
	// from SIGHUP and from the control socket.
	loaded    atomic.Int64
	reloading sync.Mutex
	// haveQueue: the gateway reads the packet filter's queues, so policies may have
	// packet_filter: (set before the first reload).
	haveQueue bool
}

// notifyState sends systemd the assignments, logging a failure.
func (l *liveConfig) notifyState(assignments ...string) {
	if err := l.notify.Notify(assignments...); err != nil {
		l.log.Warn("systemd notification failed", "err", err.Error())
	}
}

// current returns the configuration new sessions use and when it was loaded.
func (l *liveConfig) current() (*config.Config, time.Time) {
	return l.cur.Load(), time.Unix(0, l.loaded.Load())
}

// policyFor picks the service and policy of a new control connection.
func (l *liveConfig) policyFor(client, server netip.AddrPort) (*policy.Policy, string, bool) {
	svc, ok := l.cur.Load().Match(client, server)
	if !ok {
		return nil, "", false
	}
	return svc.Policy, svc.Name, true
}

// watchReload reloads the configuration on SIGHUP until ctx ends.
func (l *liveConfig) watchReload(ctx context.Context) {
	hup := l.hup
	if hup == nil {
		own := make(chan os.Signal, 1)
		signal.Notify(own, syscall.SIGHUP)
		defer signal.Stop(own)
		hup = own
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			l.reopenAudit()
			l.reload()
		}
	}
}

// reload loads the configuration file again. New sessions get the new configuration,
// running sessions keep theirs; a file that fails to load changes nothing, and neither does
// a file that is gone: once a file was loaded, the built-in default never replaces it.
func (l *liveConfig) reload() error {
	l.reloading.Lock()
	defer l.reloading.Unlock()
	l.notifyState(sdnotify.Reloading, sdnotify.MonotonicUsec(), sdnotify.Status("reloading the configuration"))
	explicit := l.explicit || l.cur.Load().Path != ""
	c, err := loadConfig(l.path, explicit, l.log)
	if err == nil {
		if err = checkPacketFilters(c, l.haveQueue); err != nil {
			c.Close()
		}
	}
	if err != nil {
		l.log.Error("configuration reload failed; keeping the running configuration", "path", l.path, "err", err.Error())
		l.notifyState(sdnotify.Ready, sdnotify.Status("serving; the last reload failed: "+err.Error()))
		return err
	}
	defer l.notifyState(sdnotify.Ready, sdnotify.Status("serving; configuration reloaded"))
	old := l.cur.Swap(c)
	l.loaded.Store(time.Now().UnixNano())
	l.log.Info("configuration reloaded", "path", describePath(c), "services", len(c.Services))
	if old != nil {
		old.Close() // its hooks' idle connections: new sessions take the new ones
	}
	return nil
}

// close closes the configuration's hooks and the audit log, if any (after the sessions
// have ended).
func (l *liveConfig) close() {
	if c := l.cur.Load(); c != nil {
		c.Close()
	}
	if l.audit != nil {
		l.audit.Close()
	}
}

// reopenAudit opens the audit log's path again; on error the log keeps its old file.
func (l *liveConfig) reopenAudit() {
	if l.audit == nil {
		return
	}
	if err := l.audit.Reopen(); err != nil {
		l.log.Error("audit log: reopen failed; still writing to the old file", "path", l.audit.Path(), "err", err.Error())
		return
	}
	l.log.Info("audit log reopened", "path", l.audit.Path())
}

// describePath names where a configuration came from.
func describePath(c *config.Config) string {
	if c.Path == "" {
		return "built-in defaults"
	}
	return c.Path
}

// configError formats a configuration error for the command line.
func configError(err error) string {
	return fmt.Sprintf("ftpgate: configuration: %v", err)
}
