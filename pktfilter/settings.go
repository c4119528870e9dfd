package pktfilter

import (
	"context"
	"time"
)

// Scope is which directions of a queued channel the filter sees.
type Scope string

// The scopes.
const (
	// ScopeData (default): both directions until the transfer command says which way the
	// file's bytes flow, then that direction only (the other carries acknowledgements).
	ScopeData Scope = "data"
	// ScopeBoth: both directions for the whole connection.
	ScopeBoth Scope = "both"
)

// Scopes lists the scopes, the default first.
func Scopes() []Scope { return []Scope{ScopeData, ScopeBoth} }

// Pattern is a byte string whose appearance in a channel's stream stops the transfer.
type Pattern struct {
	// Name names the pattern in records and logs.
	Name string
	// Bytes are the bytes looked for (1 to MaxPatternLen of them).
	Bytes []byte
}

// MaxPatternLen bounds a pattern's length; the window carried from one packet to the next
// is one byte shorter than the longest pattern.
const MaxPatternLen = 1024

// MaxPatterns bounds the patterns of one filter.
const MaxPatterns = 256

// Settings are a policy's packet filter. The zero Settings filters nothing (Active is false).
type Settings struct {
	Enabled bool
	Scope   Scope
	// Patterns stop the transfer where they appear in the bytes as the sender sent them.
	Patterns []Pattern
	// MaxSize stops the transfer once its data direction carried more bytes (0: no cap).
	MaxSize int64
	// MaxRate bounds the data direction's bytes per second (0: no cap): a packet over the
	// rate waits (at most Timeout), or is dropped and sent again by TCP.
	MaxRate int64
	// Callback judges each packet after the built-in checks (nil: none).
	Callback Callback
	// Bypass: when ftpgate does not read the queue (stopped, crashed, overloaded), the
	// kernel lets the packets pass (fail-open). Without it they are dropped (fail-closed).
	Bypass bool
	// Timeout bounds the time a packet waits for its verdict in ftpgate (default
	// DefaultTimeout); a callback that takes longer gives the failure verdict (Bypass:
	// accept; else drop).
	Timeout time.Duration
	// matcher is Patterns compiled (Compile); nil: NewJudge compiles them itself.
	matcher *Matcher
}

// Compile builds the matcher of s.Patterns once, for every judge of these settings to clone
// (building it costs 2.6 ms and 4.9 MB for 256 patterns; a clone shares it). Call it after
// the patterns are set.
func (s *Settings) Compile() { s.matcher = NewMatcher(s.Patterns) }

// DefaultTimeout is Settings.Timeout's default.
const DefaultTimeout = 200 * time.Millisecond

// WithDefaults returns s with its empty settings set to their defaults.
func (s Settings) WithDefaults() Settings {
	if s.Scope == "" {
		s.Scope = ScopeData
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	return s
}

// Meta is the channel's metadata a callback sees (ProtocolFilters' SESSIONID, COMMAND,
// REST, TYPE): the session's, and once the transfer command is known, the transfer's.
type Meta struct {
	Session uint64
	User    string
	// Command and Arg are the transfer command ("" before it is known).
	Command, Arg string
	Rest         int64
	Type         string
	// Direction is "download", "upload", or "" before the command is known.
	Direction string
}

// CallbackPacket is what a callback judges: the bytes of one packet's TCP payload the
// filter has not judged before. Bytes a packet carries again (a TCP retransmission) are not
// shown again: they pass as they passed the first time, rewrites included.
type CallbackPacket struct {
	// Data are the new bytes; the callback must not keep them.
	Data []byte
	// Offset is the stream offset of Data's first byte in its direction (0: the first byte
	// after the SYN).
	Offset int64
	// ToClient: the packet travels toward the FTP client.
	ToClient bool
	Meta     Meta
}

// Action is a callback's decision on one packet.
type Action int

// The actions.
const (
	Accept  Action = iota // the packet passes as it is
	Drop                  // the packet is dropped (TCP sends it again)
	Rewrite               // the packet passes with Decision.Data as its payload (same length)
	Stop                  // the transfer ends: reset at the box, Decision.Reason in its record
	// Hold is the judge's own verdict, never a callback's: the packet waits for bytes
	// before it; its verdict comes with a later one's (Verdict.Then) or from Judge.Expire.
	Hold
)

// Decision is a callback's verdict on one packet.
type Decision struct {
	Action Action
	// Data replaces the payload (Rewrite); it must be as long as the payload.
	Data []byte
	// Reason says why the transfer stopped (Stop).
	Reason string
}

// Callback judges packets. It must be safe for concurrent use; ctx ends at the packet's
// deadline. An error, whatever the Decision beside it, is a failure: the packet passes
// unjudged by the callback under Bypass, and the transfer stops otherwise.
type Callback interface {
	Name() string
	Packet(ctx context.Context, p *CallbackPacket) (Decision, error)
}
