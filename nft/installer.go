package nft

import (
	"context"
	"net/netip"
	"time"
)

// Config describes the table ftpgate owns. The zero value of each field means its default.
type Config struct {
	// Table is the name of the inet table ftpgate owns (default "ftpgate").
	Table string
	// ControlPorts are the TCP destination ports intercepted as FTP control (default 21).
	ControlPorts []uint16
	// ControlListen is the local port of the transparent control listener (default 2121).
	ControlListen uint16
	// DataListen is the local port of the one transparent data listener (default 2120).
	DataListen uint16
	// Mark is the packet mark that steers packets to the local route table (default 1).
	Mark uint32
	// MarkMask is the part of the packet mark ftpgate owns (default 0xffffffff, the whole
	// mark): the rules set only these bits, `meta mark set meta mark & ~MarkMask | Mark`,
	// and keep the others for the rest of the rule set. Mark must lie inside it.
	MarkMask uint32
	// Timeout is the default lifetime of an expectation element (default 30s).
	Timeout time.Duration
	// Queue, when not 0, adds the queue chain for packet filters: queue Queue takes the
	// packets of connections with the bypass flag, Queue+1 those without (see ChainQueue).
	// 0: no queue chain, no packet filter.
	Queue uint16
}

// Defaults used for the zero values of Config.
const (
	DefaultTable         = "ftpgate"
	DefaultControlPort   = 21
	DefaultControlListen = 2121
	DefaultDataListen    = 2120
	DefaultMark          = 1
	DefaultMarkMask      = 0xffffffff
	DefaultTimeout       = 30 * time.Second
)

// WithDefaults returns c with every zero field replaced by its default.
func (c Config) WithDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if len(c.ControlPorts) == 0 {
		c.ControlPorts = []uint16{DefaultControlPort}
	}
	if c.ControlListen == 0 {
		c.ControlListen = DefaultControlListen
	}
	if c.DataListen == 0 {
		c.DataListen = DefaultDataListen
	}
	if c.Mark == 0 {
		c.Mark = DefaultMark
	}
	if c.MarkMask == 0 {
		c.MarkMask = DefaultMarkMask
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Element is one expectation: exactly one TCP connection from Src to Dst:Port is steered to
// the data listener. Src and Dst are of the same family; it selects the set (data4 or data6).
type Element struct {
	Src, Dst netip.Addr
	Port     uint16
	// Timeout is the element's own lifetime; zero means the set's default.
	Timeout time.Duration
	// Comment explains the element in `nft list set` (e.g. "session 12 PASV"); it is not
	// part of the element's identity. Longer than MaxComment bytes, it is cut.
	Comment string
}

// Installer programs the ftpgate table in the kernel: Netlink owns it (builds and deletes it),
// Operator uses the one the operator's rule set defines and changes only its elements. Implementations are safe for concurrent use.
type Installer interface {
	// Setup builds the whole table in one batch, replacing a stale table of the same name
	// (Operator: verifies the operator's table, changing nothing).
	Setup(ctx context.Context) error
	// Teardown deletes the table; a table that is already gone is not an error (Operator:
	// deletes only the elements it added).
	Teardown(ctx context.Context) error
	// Add adds an expectation element with its timeout.
	Add(ctx context.Context, e Element) error
	// Delete removes an element; an element that is already gone (used, expired) is not an error.
	Delete(ctx context.Context, e Element) error
	// Check reports, wrapping ErrIncomplete, whether the table Setup built (or verified)
	// lost any part.
	Check(ctx context.Context) error
}
