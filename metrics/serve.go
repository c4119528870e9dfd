package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Path is where the metrics are served.
const Path = "/metrics"

// shutdownTimeout bounds the wait for scrapes in flight when the server stops.
const shutdownTimeout = 5 * time.Second

// Listen opens the TCP listener the metrics are served on (addr as host:port).
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on -metrics-addr %q: %w", addr, err)
	}
	return ln, nil
}

// Serve serves m on ln (Path; other paths 404) until ctx ends, then shuts the server down
// and closes ln. It returns nil after a shutdown, else the server's error.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, m.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("metrics server shutdown", "err", err.Error())
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", Path)
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
}
