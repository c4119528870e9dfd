package pktfilter

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// resetter sends the TCP resets that tell a stopped transfer's receiver at once. They leave
// through raw sockets, not as the verdict on the packet that stopped the transfer: a GSO
// packet cut down to a reset is dropped by the kernel's segmentation (its length is below its
// segment size).
type resetter struct {
	fd4, fd6 int
}

// openResetter opens the raw sockets (CAP_NET_RAW).
func openResetter() (*resetter, error) {
	fd4, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("pktfilter: raw IPv4 socket for resets: %w", err)
	}
	fd6, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		unix.Close(fd4)
		return nil, fmt.Errorf("pktfilter: raw IPv6 socket for resets: %w", err)
	}
	return &resetter{fd4: fd4, fd6: fd6}, nil
}

// send sends pkt, a whole IPv4 or IPv6 packet, to dst.
func (r *resetter) send(pkt []byte, dst netip.Addr) error {
	if dst.Is4() {
		return unix.Sendto(r.fd4, pkt, 0, &unix.SockaddrInet4{Addr: dst.As4()})
	}
	return unix.Sendto(r.fd6, pkt, 0, &unix.SockaddrInet6{Addr: dst.As16()})
}

// close closes the sockets.
func (r *resetter) close() error {
	return errors.Join(unix.Close(r.fd4), unix.Close(r.fd6))
}
