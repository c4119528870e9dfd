package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// toJournal reports whether f is the stream systemd's journal reads ($JOURNAL_STREAM names
// its device and inode), so that lines may carry their priority as a "<N>" prefix.
func toJournal(f *os.File) bool {
	js := os.Getenv("JOURNAL_STREAM")
	if js == "" {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return js == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// priority is the syslog priority journald gives a line of level l: err, warning, info,
// debug.
func priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}

// journalHandler prefixes each record's line with its syslog priority ("<3>" for an error),
// which journald takes as the entry's priority and strips (SyslogLevelPrefix=, on by
// default): `journalctl -p warning -u ftpgate` then shows warnings and errors only.
type journalHandler struct {
	inner slog.Handler
	w     io.Writer
	mu    *sync.Mutex // the prefix and its line are written together
}

// newJournalHandler wraps the handler make builds on w.
func newJournalHandler(w io.Writer, make func(io.Writer) slog.Handler) *journalHandler {
	return &journalHandler{inner: make(w), w: w, mu: &sync.Mutex{}}
}

// Enabled is the inner handler's.
func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

// Handle writes the priority prefix, then the record's line.
func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := fmt.Fprintf(h.w, "<%d>", priority(r.Level)); err != nil {
		return err
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs wraps the inner handler's.
func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{inner: h.inner.WithAttrs(as), w: h.w, mu: h.mu}
}

// WithGroup wraps the inner handler's.
func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{inner: h.inner.WithGroup(name), w: h.w, mu: h.mu}
}
