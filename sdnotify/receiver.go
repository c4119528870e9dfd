package sdnotify

import (
	"fmt"
	"net"
	"time"
)

// Receiver is the other end of the protocol, as systemd holds it: a datagram socket that
// collects what a service sends. Tests start a service with NOTIFY_SOCKET set to its path.
type Receiver struct {
	conn *net.UnixConn
}

// Listen opens a Receiver on the socket path (which must not exist).
func Listen(path string) (*Receiver, error) {
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("sdnotify: %w", err)
	}
	return &Receiver{conn: c}, nil
}

// Next returns the next datagram, or an error when none came within timeout.
func (r *Receiver) Next(timeout time.Duration) (string, error) {
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	n, err := r.conn.Read(buf)
	if err != nil {
		return "", fmt.Errorf("sdnotify: %w", err)
	}
	return string(buf[:n]), nil
}

// Close closes the socket.
func (r *Receiver) Close() error { return r.conn.Close() }
