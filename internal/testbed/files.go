package testbed

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
)

// fileSeed seeds MakeFile's generator; the same n always gives the same
// bytes, and a shorter file is a prefix of a longer one (handy for REST).
var fileSeed = [32]byte{'f', 't', 'p', 'g', 'a', 't', 'e', ' ', 't', 'e', 's', 't', 'b', 'e', 'd'}

// MakeFile writes n deterministic pseudo-random bytes to path (created or
// truncated, mode 0644) and returns their hex SHA-256.
func MakeFile(path string, n int64) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("testbed: make file %s: negative size %d", path, n)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("testbed: make file: %w", err)
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, rand.NewChaCha8(fileSeed), n); err != nil {
		f.Close()
		return "", fmt.Errorf("testbed: make file %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", fmt.Errorf("testbed: make file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("testbed: make file %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SHA256File returns the hex SHA-256 of the file at path.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("testbed: sha256: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("testbed: sha256 %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
