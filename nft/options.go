package nft

import (
	"io"
	"log/slog"

	"github.com/google/nftables"
)

// Option configures NewNetlink and Probe.
type Option func(*options)

type options struct {
	netns    int
	hasNetNS bool
	logger   *slog.Logger
}

// WithNetNS makes every netlink operation run in the network namespace referred to by fd
// (for example an open /run/netns/NAME). The caller keeps the fd open while it is in use and
// closes it afterwards. Without it the calling process's namespace is used.
func WithNetNS(fd int) Option {
	return func(o *options) { o.netns, o.hasNetNS = fd, true }
}

// WithLogger sets the logger for Setup, Teardown (info) and element changes (debug).
// Without it nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// newOptions applies opts over the defaults.
func newOptions(opts []Option) options {
	o := options{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// conn returns a new google/nftables connection. It holds no socket: each operation dials
// its own short-lived netlink socket in the chosen namespace.
func (o options) conn() (*nftables.Conn, error) {
	var copts []nftables.ConnOption
	if o.hasNetNS {
		copts = append(copts, nftables.WithNetNSFd(o.netns))
	}
	return nftables.New(copts...)
}

// lastingConn returns a google/nftables connection that keeps one netlink socket open in
// the chosen namespace until CloseLasting.
func (o options) lastingConn() (*nftables.Conn, error) {
	copts := []nftables.ConnOption{nftables.AsLasting()}
	if o.hasNetNS {
		copts = append(copts, nftables.WithNetNSFd(o.netns))
	}
	return nftables.New(copts...)
}
