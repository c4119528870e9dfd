package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is returned by Spool.Write past the spool's bound.
var ErrTooLarge = errors.New("inspect: object larger than max_size")

// Spool holds an object's bytes while the hooks decide: in memory up to a bound, the rest
// in a temporary file that is unlinked at once (nothing stays on disk, even after a crash).
// Not safe for concurrent use.
type Spool struct {
	dir     string
	memMax  int
	maxSize int64 // 0: no bound
	mem     []byte
	f       *os.File
	size    int64
}

// NewSpool returns an empty spool keeping up to memMax bytes in memory, then using a file
// in dir ("": the system's temporary directory), and refusing more than maxSize bytes
// (0: no bound).
func NewSpool(dir string, memMax int, maxSize int64) *Spool {
	return &Spool{dir: dir, memMax: memMax, maxSize: maxSize}
}

// Write appends p.
func (s *Spool) Write(p []byte) (int, error) {
	if s.maxSize > 0 && s.size+int64(len(p)) > s.maxSize {
		return 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, s.maxSize)
	}
	if s.f == nil && len(s.mem)+len(p) > s.memMax {
		if err := s.toFile(); err != nil {
			return 0, err
		}
	}
	if s.f != nil {
		n, err := s.f.Write(p)
		s.size += int64(n)
		if err != nil {
			return n, fmt.Errorf("inspect: spool: %w", err)
		}
		return n, nil
	}
	s.mem = append(s.mem, p...)
	s.size += int64(len(p))
	return len(p), nil
}

// toFile moves the spool into a new unlinked temporary file.
func (s *Spool) toFile() error {
	f, err := os.CreateTemp(s.dir, "ftpgate-spool-*")
	if err != nil {
		return fmt.Errorf("inspect: spool: %w", err)
	}
	os.Remove(f.Name()) // unlinked: the descriptor keeps it while the spool lives
	if _, err := f.Write(s.mem); err != nil {
		f.Close()
		return fmt.Errorf("inspect: spool: %w", err)
	}
	s.f, s.mem = f, nil
	return nil
}

// Size is the number of bytes spooled.
func (s *Spool) Size() int64 { return s.size }

// InFile reports whether the spool went to a file.
func (s *Spool) InFile() bool { return s.f != nil }

// Reader returns a reader of the whole object from its first byte; each call starts
// afresh.
func (s *Spool) Reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

// File returns the spool's file, rewound to its start, or nil when the object is in
// memory (a hook that wants a descriptor, clamdscan --fdpass, reads it as its stdin).
func (s *Spool) File() *os.File {
	if s.f == nil {
		return nil
	}
	s.f.Seek(0, io.SeekStart)
	return s.f
}

// Close frees the spool: its memory, its file.
func (s *Spool) Close() error {
	s.mem = nil
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
