package nft

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// maxTableName is the kernel's NFT_NAME_MAXLEN minus the terminating NUL.
const maxTableName = 255

// Validate reports whether c (after WithDefaults) describes a table that can be built: a
// sane table name, non-zero control ports, a mark inside its mask and a timeout of at least one millisecond (the
// kernel's granularity).
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := validTableName(c.Table); err != nil {
		return err
	}
	if slices.Contains(c.ControlPorts, 0) {
		return errors.New("nft: control port 0")
	}
	if c.Mark&^c.MarkMask != 0 {
		return fmt.Errorf("nft: mark %#x outside mark mask %#x", c.Mark, c.MarkMask)
	}
	if c.Queue == 0xffff {
		return errors.New("nft: queue 65535: the packet filter needs two queues, Queue and Queue+1")
	}
	if c.Timeout < time.Millisecond {
		return fmt.Errorf("nft: timeout %v: must be at least 1ms", c.Timeout)
	}
	return nil
}

// validTableName checks a table name: a letter, then letters, digits, '_', '-' or '.'.
func validTableName(name string) error {
	if len(name) > maxTableName {
		return fmt.Errorf("nft: table name longer than %d bytes", maxTableName)
	}
	for i, r := range name {
		letter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		other := r == '_' || r == '-' || r == '.' || (r >= '0' && r <= '9')
		if !letter && (i == 0 || !other) {
			return fmt.Errorf("nft: table name %q: want a letter, then letters, digits, '_', '-' or '.'", name)
		}
	}
	return nil
}

// controlPorts returns the control ports of c sorted and without duplicates.
func (c Config) controlPorts() []uint16 {
	ports := slices.Clone(c.WithDefaults().ControlPorts)
	slices.Sort(ports)
	return slices.Compact(ports)
}
