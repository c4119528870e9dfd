package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/ftpgate/ftpgate/metrics"
)

// checkMetricsAddr checks -metrics-addr: empty (no metrics) or host:port.
func checkMetricsAddr(o *options) error {
	if o.metricsAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(o.metricsAddr); err != nil {
		return fmt.Errorf("invalid -metrics-addr %q (host:port, e.g. 127.0.0.1:9121): %w", o.metricsAddr, err)
	}
	return nil
}

// openMetrics binds -metrics-addr, if set, and gives o's sessions the metrics to count in
// (o.ftp.Metrics); the listener waits in o.metricsLn until serveMetrics serves it. Bound
// before the table is installed, an address in use fails the start with nothing changed.
func openMetrics(ctx context.Context, o *options) error {
	if o.metricsAddr == "" {
		return nil
	}
	ln, err := metrics.Listen(ctx, o.metricsAddr)
	if err != nil {
		return err
	}
	o.ftp.Metrics, o.metricsLn = metrics.New(), ln
	return nil
}

// closeMetrics closes the metrics listener if serveMetrics never took it over.
func closeMetrics(o *options) {
	if o.metricsLn != nil {
		o.metricsLn.Close() // a second close (after Serve) only returns an error
	}
}

// serveMetrics serves /metrics on o.metricsLn until ctx ends, then shuts the server down;
// a server that fails calls fail.
func serveMetrics(ctx context.Context, o options, log *slog.Logger, fail func(error)) {
	if o.metricsLn == nil {
		return
	}
	if err := o.ftp.Metrics.Serve(ctx, o.metricsLn, log); err != nil {
		fail(err)
	}
}
