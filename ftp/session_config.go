package ftp

import (
	"net/netip"
	"time"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/park"
	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/policy"
)

// Config holds the session limits and timeouts. Zero fields take their defaults.
type Config struct {
	// MaxLine bounds a command or reply line in bytes (default 2048).
	MaxLine int
	// MaxReplyLines bounds the lines of one multi-line reply (default 1000).
	MaxReplyLines int
	// ConnectTimeout bounds the connection to the server, control and data (default 10s).
	ConnectTimeout time.Duration
	// IdleTimeout closes a control connection idle this long while no transfer runs (default 15m).
	IdleTimeout time.Duration
	// GreetingTimeout bounds the wait for the server's greeting once connected; then the
	// client gets 421 and the session ends (default 30s).
	GreetingTimeout time.Duration
	// Linger bounds how long a transfer's final reply is held back, after it arrived, until
	// the transfer's data has passed through completely (default 30s).
	Linger time.Duration
	// WriteTimeout bounds writing one reply to the client or one command to the server: a peer
	// that takes nothing for this long (a client that stopped reading its replies) ends the
	// session (default 60s).
	WriteTimeout time.Duration
	// ReplyTimeout bounds the wait for a transfer's final reply after its data connection
	// closed; then the session ends with 421 (default 60s).
	ReplyTimeout time.Duration
	// Spoof makes connections to the server leave from the client's own address (default in
	// cmd: true). When false they leave from the box's own address, and PORT/EPRT toward the
	// server name that address (BoxSource) and a port from Ports.
	Spoof bool
	// DataMode sets up the server's side of data channels: keep (default), passive, active.
	DataMode policy.DataMode
	// DataPath: auto (default) and kernel put a plain, untranslated data channel on the
	// kernel path when Kernel is set; proxy keeps every channel in ftpgate.
	DataPath policy.DataPath
	// Hash makes channels through ftpgate hash what they carry (transfer_hash: sha256).
	Hash bool
	// Inspect puts transfers through hooks (the policy's inspect:); a session whose
	// inspection is active never uses the kernel path.
	Inspect inspect.Settings
	// Kernel opens the kernel path's pinholes (nil: no kernel path).
	Kernel kpath.Kernel
	// Packets is the packet filter of the kernel path's channels (the policy's
	// packet_filter:); Queue reads the packet filter's queues (nil: none, and a channel
	// under a packet filter is refused rather than left unfiltered).
	Packets pktfilter.Settings
	Queue   *pktfilter.Queue
	// PinholeTimeout is how long a kernel path pinhole waits for its connection (default 30s).
	PinholeTimeout time.Duration
	// PasvRewrite replaces a foreign address in a 227 with the server's own (the common NAT
	// misconfiguration) instead of refusing it.
	PasvRewrite bool
	// ActiveSourcePort is the source port of active-mode data connections toward the client:
	// 0 lets the kernel pick one (default); 20 is the classic ftp-data port.
	ActiveSourcePort uint16
	// Ports hands out the data ports ftpgate announces itself (translated modes, the box's
	// own address).
	Ports datachan.PortAllocator
	// BoxSource returns the box's own address toward a server.
	BoxSource func(server netip.Addr) (netip.Addr, error)
	// TLS configures FTPS; nil refuses AUTH.
	TLS *TLSConfig
	// Park, when set, takes a session's command or reply loop off its goroutine once its
	// plain leg was quiet for ParkAfter, until the leg is readable: an idle session then
	// holds no goroutine. Nil: the loops wait on their goroutines.
	Park *park.Poller
	// ParkAfter is how long a leg stays quiet before its loop parks (default 1s).
	ParkAfter time.Duration
	// Audit receives the audit records of sessions and transfers (nil: none).
	Audit Auditor
	// Metrics counts sessions, verdicts, transfers and TLS handshakes (nil: none).
	Metrics *metrics.Metrics
	// Service and Policy name the service and policy that serve the session, for the audit
	// records.
	Service, Policy string
	// BoxAddr, when valid, is the box's own address the server leg uses instead of the
	// route lookup (for the server's family; the other family still uses BoxSource).
	BoxAddr netip.Addr
}

// WithDefaults returns c with every zero field replaced by its default.
func (c Config) WithDefaults() Config {
	if c.MaxLine == 0 {
		c.MaxLine = 2048
	}
	if c.MaxReplyLines == 0 {
		c.MaxReplyLines = 1000
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 15 * time.Minute
	}
	if c.GreetingTimeout == 0 {
		c.GreetingTimeout = 30 * time.Second
	}
	d := policy.DataPolicy{Mode: c.DataMode, Path: c.DataPath}.WithDefaults()
	c.DataMode, c.DataPath = d.Mode, d.Path
	if c.PinholeTimeout == 0 {
		c.PinholeTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 60 * time.Second
	}
	if c.ReplyTimeout == 0 {
		c.ReplyTimeout = 60 * time.Second
	}
	if c.Linger == 0 {
		c.Linger = 30 * time.Second
	}
	if c.ParkAfter == 0 {
		c.ParkAfter = time.Second
	}
	return c
}

// withPolicy returns c with the settings of policy p for a session on control port port:
// its limits, data channel settings and TLS (implicit: FTPS from the first byte).
func (c Config) withPolicy(p *policy.Policy, implicit bool, port uint16) Config {
	if n := p.Limits.MaxLineLength; n > 0 {
		c.MaxLine = n
	}
	if n := p.Limits.MaxReplyLines; n > 0 {
		c.MaxReplyLines = n
	}
	d := p.Data.WithDefaults()
	c.DataMode, c.DataPath = d.Mode, d.Path
	c.Hash = d.Hash == policy.HashSHA256
	c.Inspect = p.Inspect.WithDefaults()
	c.Packets = p.Packets
	c.PasvRewrite = d.PasvAddress == policy.PasvRewrite
	c.ActiveSourcePort = d.ActiveSourcePort.For(port)
	switch d.ServerAddress.Source {
	case policy.SourceClient:
		c.Spoof = true
	case policy.SourceBox:
		c.Spoof = false
	case policy.SourceAddress:
		c.Spoof, c.BoxAddr = false, d.ServerAddress.Addr
	}
	c.TLS = &TLSConfig{TLSPolicy: p.TLS.WithDefaults(), Implicit: implicit}
	return c
}
