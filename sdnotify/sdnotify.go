// Package sdnotify tells systemd what the daemon is doing (sd_notify(3)): READY=1 once it
// serves, RELOADING=1 and READY=1 around a reload, STOPPING=1 when it begins to stop, and a
// STATUS= line for `systemctl status`. It speaks the protocol itself: one datagram to the
// unix socket named by $NOTIFY_SOCKET (a path, or an abstract name written with a leading
// '@'). Without $NOTIFY_SOCKET (not started by systemd with Type=notify) it does nothing.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The states a Notifier sends.
const (
	Ready     = "READY=1"
	Reloading = "RELOADING=1"
	Stopping  = "STOPPING=1"
)

// Status is the STATUS= assignment for text (one line: line breaks become spaces).
func Status(text string) string {
	return "STATUS=" + strings.NewReplacer("\n", " ", "\r", " ").Replace(text)
}

// MonotonicUsec is the MONOTONIC_USEC= assignment of now on CLOCK_MONOTONIC, which
// systemd wants with RELOADING=1 (systemd ≥ 253, Type=notify-reload).
func MonotonicUsec() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return ""
	}
	return "MONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
}

// Notifier sends state changes to systemd. The zero Notifier, and a nil one, send nothing.
type Notifier struct {
	addr *net.UnixAddr
}

// FromEnv returns the Notifier of $NOTIFY_SOCKET, or nil when it is unset.
func FromEnv() (*Notifier, error) {
	return New(os.Getenv("NOTIFY_SOCKET"))
}

// New returns a Notifier for socket (a path, or "@name" for an abstract socket); nil for "".
func New(socket string) (*Notifier, error) {
	switch {
	case socket == "":
		return nil, nil
	case socket[0] != '/' && socket[0] != '@':
		return nil, fmt.Errorf("sdnotify: NOTIFY_SOCKET %q is neither a path nor an abstract name", socket)
	}
	name := socket
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	return &Notifier{addr: &net.UnixAddr{Name: name, Net: "unixgram"}}, nil
}

// Enabled reports whether n sends anything.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Notify sends the assignments ("READY=1", Status(…)) in one datagram. Empty ones are left
// out.
func (n *Notifier) Notify(assignments ...string) error {
	if !n.Enabled() {
		return nil
	}
	var lines []string
	for _, a := range assignments {
		if a != "" {
			lines = append(lines, a)
		}
	}
	if len(lines) == 0 {
		return errors.New("sdnotify: nothing to send")
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}
