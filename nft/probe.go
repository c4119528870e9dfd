package nft

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Probe checks, without changing anything, that nf_tables is usable: it lists the tables of
// the namespace. It returns nil, or an error that says "need CAP_NET_ADMIN" (EPERM, EACCES) or
// "kernel lacks nf_tables" (EPROTONOSUPPORT, ENOENT) and wraps the original error.
func Probe(ctx context.Context, opts ...Option) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nft: probe: %w", err)
	}
	c, err := newOptions(opts).conn()
	if err != nil {
		return fmt.Errorf("nft: probe: %w", classify(err))
	}
	if _, err := c.ListTables(); err != nil {
		return fmt.Errorf("nft: probe: %w", classify(err))
	}
	return nil
}

// kernelError is an errno from the kernel with an operator-readable explanation.
type kernelError struct {
	hint string
	err  error
}

func (e *kernelError) Error() string { return e.hint + ": " + e.err.Error() }
func (e *kernelError) Unwrap() error { return e.err }

// classify adds an operator-readable hint to the errnos that mean "no permission" or "no
// nf_tables in this kernel"; other errors are returned unchanged.
func classify(err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return &kernelError{hint: "need CAP_NET_ADMIN", err: err}
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.ENOENT):
		return &kernelError{hint: "kernel lacks nf_tables", err: err}
	}
	return err
}
