package audit

import (
	"time"

	"github.com/ftpgate/ftpgate/inspect"
)

// Session is the record of one control session, written when it ends.
type Session struct {
	Record  string    `json:"record"` // "session"
	Time    time.Time `json:"ts"`     // when the session ended
	Session uint64    `json:"session"`
	Start   time.Time `json:"start"`
	// Duration is the session's length in seconds.
	Duration float64 `json:"duration"`
	Client   string  `json:"client"` // the client's address and port
	Server   string  `json:"server"` // the server's (the client's original destination)
	Service  string  `json:"service,omitempty"`
	Policy   string  `json:"policy,omitempty"`
	User     string  `json:"user,omitempty"` // the last user name the server accepted
	// TLSClient and TLSServer describe each control leg's TLS; nil for a plain leg.
	TLSClient *TLS `json:"tls_client,omitempty"`
	TLSServer *TLS `json:"tls_server,omitempty"`
	// TLSBridge: TLS ended at ftpgate, the server leg was plain (tls server: refused or
	// bridge).
	TLSBridge bool `json:"tls_bridge,omitempty"`
	Commands  int  `json:"commands"`  // command lines the client sent
	Transfers int  `json:"transfers"` // transfer commands that got a final reply
	// Refused lists the commands ftpgate refused, the first MaxRefused of them;
	// RefusedTotal counts them all.
	Refused      []Refusal `json:"refused,omitempty"`
	RefusedTotal int       `json:"refused_total"`
	// Error says why the session ended when it did not end cleanly.
	Error string `json:"error,omitempty"`
}

// MaxRefused bounds the refusals a session record lists.
const MaxRefused = 32

// Refusal is one command ftpgate refused.
type Refusal struct {
	Command string `json:"command,omitempty"` // the verb ("" for a line that did not parse)
	Reply   int    `json:"reply"`             // the reply the client got
	Reason  string `json:"reason"`
}

// TLS describes one TLS connection.
type TLS struct {
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
	// Resumed: a data connection resumed the TLS session of its control connection.
	Resumed bool `json:"resumed,omitempty"`
}

// Transfer is the record of one transfer command, written when its final reply passed.
type Transfer struct {
	Record  string    `json:"record"` // "transfer"
	Time    time.Time `json:"ts"`     // when the final reply passed
	Session uint64    `json:"session"`
	Client  string    `json:"client"` // the control connection's client address and port
	Server  string    `json:"server"`
	Service string    `json:"service,omitempty"`
	Policy  string    `json:"policy,omitempty"`
	User    string    `json:"user,omitempty"`
	// Command and Arg are the transfer command; Rest its REST offset, Type the
	// representation type (TYPE) in force.
	Command   string `json:"command"`
	Arg       string `json:"arg"`
	Rest      int64  `json:"rest"`
	Type      string `json:"type"`
	Direction string `json:"direction"` // download, upload
	// Path is the path the bytes took: proxy (through ftpgate) or kernel.
	Path string `json:"path"`
	// DataClient and DataServer are the data connection's two ends as seen on each leg,
	// "from -> to" (the kernel path: the pinhole's one connection).
	DataClient string `json:"data_client,omitempty"`
	DataServer string `json:"data_server,omitempty"`
	// TLSClient and TLSServer describe each data leg's TLS; nil for a plain leg.
	TLSClient     *TLS  `json:"tls_client,omitempty"`
	TLSServer     *TLS  `json:"tls_server,omitempty"`
	BytesToClient int64 `json:"bytes_to_client"`
	BytesToServer int64 `json:"bytes_to_server"`
	// BytesEstimated: the kernel path's counts, from conntrack's packet counts.
	BytesEstimated bool `json:"bytes_estimated,omitempty"`
	// Size and SHA256 describe what passed in the transfer's direction, when ftpgate hashed
	// it (transfer_hash: sha256 on a channel through ftpgate).
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// Reply is the final reply the client got; ServerReply the server's, when ftpgate
	// replaced it.
	Reply       int     `json:"reply"`
	ServerReply int     `json:"server_reply,omitempty"`
	Complete    bool    `json:"complete"`
	Duration    float64 `json:"duration"`
	DataError   string  `json:"data_error,omitempty"`
	// Verdicts are the hooks' verdicts on the object (the policy's inspect:); Refused says
	// it did not pass, BytesReceived how much of it ftpgate read (before any chunk hook).
	Verdicts      []inspect.Verdict `json:"verdicts,omitempty"`
	Refused       bool              `json:"refused,omitempty"`
	BytesReceived int64             `json:"bytes_received,omitempty"`
	// SHA256Received is the digest of the bytes as the sending side sent them, when chunk
	// hooks may have changed them (Size and SHA256 are then what was delivered).
	SHA256Received string `json:"sha256_received,omitempty"`
	// PacketFilter is the packet filter's account of a kernel path transfer under one.
	PacketFilter *PacketFilter `json:"packet_filter,omitempty"`
}

// PacketFilter is what the packet filter did with one kernel path transfer's packets.
type PacketFilter struct {
	// Packets and Bytes are the packets judged and their payload bytes (retransmissions
	// counted again); the verdicts follow.
	Packets   int64 `json:"packets"`
	Bytes     int64 `json:"bytes"`
	Accepted  int64 `json:"accepted"`
	Dropped   int64 `json:"dropped"`
	Rewritten int64 `json:"rewritten,omitempty"`
	Delayed   int64 `json:"delayed,omitempty"`
	// RateDropped: dropped by the rate cap; Reordered: held back until earlier bytes came;
	// OutOfOrder: dropped because earlier bytes were missing (not within the timeout, or the
	// filter dropped them); Unjudged: bytes that passed without the filter (queue_bypass).
	RateDropped int64 `json:"rate_dropped,omitempty"`
	Reordered   int64 `json:"reordered,omitempty"`
	OutOfOrder  int64 `json:"out_of_order,omitempty"`
	Unjudged    int64 `json:"unjudged_bytes,omitempty"`
	Unparsed    int64 `json:"unparsed,omitempty"`
	// CallbackErrors and TimedOut count failed callback calls; CallbackOff says the callback
	// was left out after repeated timeouts.
	CallbackErrors int64  `json:"callback_errors,omitempty"`
	TimedOut       int64  `json:"timed_out,omitempty"`
	CallbackOff    bool   `json:"callback_off,omitempty"`
	CallbackError  string `json:"callback_error,omitempty"`
	// Stopped says why the filter stopped the transfer.
	Stopped string `json:"stopped,omitempty"`
	// MaxHoldMS is the longest a packet waited in ftpgate for its verdict, in milliseconds.
	MaxHoldMS float64 `json:"max_hold_ms"`
}
