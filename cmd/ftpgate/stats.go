package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// statsSource is what the stats line counts.
type statsSource struct {
	sessions     func() int
	expectations func() int
}

// logStats writes one "stats" line every interval until ctx ends: sessions, pending
// expectations, goroutines, open files and resident memory, so that an operator (and the
// soak test) sees whether anything grows.
func logStats(ctx context.Context, interval time.Duration, src statsSource, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			log.Info("stats", "sessions", src.sessions(), "expectations", src.expectations(),
				"goroutines", runtime.NumGoroutine(), "open_files", openFiles(), "rss_bytes", residentBytes())
		}
	}
}

// openFiles counts this process's open file descriptors (-1 when /proc is unavailable).
func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// residentBytes is this process's resident set size (-1 when /proc is unavailable).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}
