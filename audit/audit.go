// Package audit writes ftpgate's audit log: one JSON object per line, one line per session
// when it ends and one per transfer when its final reply has passed. The field names follow
// the transfer records of the main log and, where they have one, Zeek's ftp.log.
//
// Each record is written with a single write(2) on a file opened O_APPEND, so records of
// concurrent sessions never interleave and a crash loses at most the record being written.
// [Log.Reopen] (on SIGHUP) opens the path again after logrotate has moved the file: records
// written meanwhile went to the moved file, none is lost.
package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Log is an audit log. Safe for concurrent use; the zero value is not usable ([Open]).
type Log struct {
	path string // "-": standard output, never reopened
	log  *slog.Logger

	mu     sync.Mutex
	w      io.Writer
	f      *os.File // nil for standard output
	failed bool     // the last write failed (logged once until one succeeds)
}

// Open opens the audit log at path for appending, creating it with mode 0640 if needed;
// "-" is standard output. log receives write errors.
func Open(path string, log *slog.Logger) (*Log, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Log{path: path, log: log}
	if path == "-" {
		l.w = os.Stdout
		return l, nil
	}
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	l.w, l.f = f, f
	return l, nil
}

// openFile opens path for appending.
func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	return f, nil
}

// Path is where the log is written ("-": standard output).
func (l *Log) Path() string { return l.path }

// Reopen opens the path again and writes from then on to the new file; the old one is
// closed once no record is being written to it. On error the log keeps its old file.
func (l *Log) Reopen() error {
	if l.path == "-" {
		return nil
	}
	f, err := openFile(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	if old == nil { // closed meanwhile
		l.mu.Unlock()
		return f.Close()
	}
	l.w, l.f = f, f
	l.mu.Unlock()
	return old.Close()
}

// Close closes the file; later records are dropped.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.f
	l.w, l.f = io.Discard, nil
	if f == nil {
		return nil
	}
	return f.Close()
}

// Session writes a session record.
func (l *Log) Session(r Session) {
	r.Record = "session"
	l.write(&r)
}

// Transfer writes a transfer record.
func (l *Log) Transfer(r Transfer) {
	r.Record = "transfer"
	l.write(&r)
}

// write encodes v as one line and writes it with one call.
func (l *Log) write(v any) {
	b, err := json.Marshal(v)
	if err != nil { // the record types always encode; kept for safety
		l.log.Error("audit: encode record", "err", err.Error())
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.w.Write(b)
	switch {
	case err != nil && !l.failed:
		l.failed = true
		l.log.Error("audit: write failed; records are lost until a write succeeds", "path", l.path, "err", err.Error())
	case err == nil && l.failed:
		l.failed = false
		l.log.Info("audit: writing again", "path", l.path)
	}
}
