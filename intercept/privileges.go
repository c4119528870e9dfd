package intercept

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrNoNetAdmin is the error CheckPrivileges wraps when the process lacks CAP_NET_ADMIN.
var ErrNoNetAdmin = errors.New("need CAP_NET_ADMIN: run ftpgate as root or grant it the capability")

// CheckPrivileges returns an error wrapping ErrNoNetAdmin if the process's effective
// capability set lacks CAP_NET_ADMIN, which transparent sockets, SO_MARK, policy routing and
// nftables all need. It asks the kernel with capget(2).
func CheckPrivileges() error {
	ok, err := hasEffectiveCap(unix.CAP_NET_ADMIN)
	if err != nil {
		return fmt.Errorf("intercept: check privileges: %w", err)
	}
	if !ok {
		return ErrNoNetAdmin
	}
	return nil
}

// hasEffectiveCap reports whether capability bit capability is in the calling thread's
// effective set. All threads of a Go process share the same credentials.
func hasEffectiveCap(capability int) (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("capget: %w", err)
	}
	idx, bit := capability/32, uint(capability%32)
	if idx >= len(data) {
		return false, fmt.Errorf("capability %d out of range", capability)
	}
	return data[idx].Effective&(1<<bit) != 0, nil
}

// CheckTProxy probes whether transparent sockets work here: it creates a throwaway IPv4
// TCP socket and sets IP_TRANSPARENT on it, then does the same for IPv6 with
// IPV6_TRANSPARENT if the kernel has IPv6. It returns the first failure, wrapped.
func CheckTProxy() error {
	if err := probeTransparent(unix.AF_INET, unix.SOL_IP, unix.IP_TRANSPARENT); err != nil {
		return fmt.Errorf("intercept: IP_TRANSPARENT: %w", err)
	}
	err := probeTransparent(unix.AF_INET6, unix.SOL_IPV6, unix.IPV6_TRANSPARENT)
	if err != nil && !errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("intercept: IPV6_TRANSPARENT: %w", err)
	}
	return nil
}

// probeTransparent opens a TCP socket of family, sets the option, and closes it.
func probeTransparent(family, level, opt int) error {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, level, opt, 1); err != nil {
		return fmt.Errorf("setsockopt: %w", err)
	}
	return nil
}
