package ftp

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// errQuiet is what waitConn.WaitRead returns when its leg stayed quiet for the whole
// quiet period: the loop reading it may park (Config.Park).
var errQuiet = errors.New("ftp: the leg is quiet")

// waitConn is a plain TCP control leg as the line readers see it: a [wire.ReadWaiter], so
// that an idle leg holds no read buffer.
type waitConn struct {
	*net.TCPConn
	rc    syscall.RawConn // nil if the descriptor could not be had: WaitRead returns at once
	quiet time.Duration   // 0: WaitRead waits for good; else it gives up after this long
	peek  [1]byte
	ready func(fd uintptr) bool // made once: a closure made per wait would be garbage
}

// newWaitConn wraps c; a WaitRead gives up with errQuiet after quiet (0: never).
func newWaitConn(c *net.TCPConn, quiet time.Duration) *waitConn {
	w := &waitConn{TCPConn: c, quiet: quiet}
	w.rc, _ = c.SyscallConn()
	w.ready = w.readable
	return w
}

// WaitRead blocks until a byte, the end of the stream or an error is waiting on the socket
// (found with a non-blocking MSG_PEEK of one byte, which takes nothing), or the connection
// is closed, or the quiet period passes (errQuiet). Go's poller is edge-triggered, so
// readiness is tested, not assumed: bytes left behind by an earlier short read are seen at
// once.
func (w *waitConn) WaitRead() error {
	if w.rc == nil {
		return nil
	}
	if w.quiet == 0 {
		return w.rc.Read(w.ready)
	}
	w.SetReadDeadline(time.Now().Add(w.quiet))
	err := w.rc.Read(w.ready)
	w.SetReadDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errQuiet
	}
	return err
}

// readable reports whether a read of fd would not block.
func (w *waitConn) readable(fd uintptr) bool {
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&w.peek[0])), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	return errno != unix.EAGAIN && errno != unix.EINTR
}
