package testbed

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Subreaper makes the calling process a child subreaper
// (prctl(PR_SET_CHILD_SUBREAPER)): orphans of the processes it started,
// such as the session processes of a stopped vsftpd, are re-parented to it
// instead of to PID 1. On machines whose PID 1 does not reap orphans (the
// Firecracker test guests) they would otherwise stay zombies forever.
// Proc.Stop reaps the orphans of its own process group. Call it once, early,
// from TestMain or a demo program's main.
func Subreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("testbed: prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}
