package script

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ftpgate/ftpgate/pktfilter"
	"github.com/ftpgate/ftpgate/policy"
)

// packetResults is what a packet callback may return, for errors.
const packetResults = "ACCEPT, accept(), DROP, reject(), None, or a string or bytes as long as the packet's data"

// PacketHook returns a pktfilter.Callback named hookName ("" names it after fn) that calls
// the script's function fn on each packet the packet filter judges, as
//
//	fn(packet)
//
// packet is a frozen struct with the fields
//
//	data        string  the packet's TCP payload, as raw bytes (see ChunkHook's data)
//	offset      int     the stream offset of data's first byte in its direction (0: the
//	                    first byte after the SYN)
//	to_client   bool    the packet travels toward the FTP client
//	direction   string  "download" or "upload", "" before the transfer command is known
//	session     int     the session's id
//	user        string  the user name sent with USER
//	command     string  the transfer command ("RETR", "STOR", …; "" before it is known)
//	arg         string  its parameter, as the client sent it
//	type        string  the representation type: "A", "I", …
//	rest        int     the REST offset the transfer starts at
//
// A callback sees the new bytes of one packet at a time, wherever TCP cut the stream: a
// pattern may be split between two packets (the filter's built-in patterns find those, a
// callback does not). Bytes a packet carries again (a TCP retransmission) are not shown
// again: the filter repeats what passed the first time, rewrites included.
//
// It returns the packet's fate:
//
//	ACCEPT, accept()     the packet passes unchanged (pktfilter.Accept)
//	DROP, None           the packet is dropped, and TCP sends it again (pktfilter.Drop):
//	                     a callback that drops the same bytes every time stalls the
//	                     transfer until the peers give up
//	a string or bytes    the packet passes with these bytes as its payload
//	                     (pktfilter.Rewrite); they must be exactly as long as data. When
//	                     they equal data, the packet passes unchanged, without a copy
//	reject(code, text)   the transfer ends (pktfilter.Stop) with text as the reason in its
//	                     record ("refused by fn" when empty); code is ignored
//
// A string or bytes of another length, anything else (ABORT, change(), accept(param), …),
// a runtime error or the step limit (Options.MaxSteps, per packet) is an error: the
// callback failed, and the caller's failure policy decides. Each call is cancelled when its
// context (the packet's deadline) is done. DROP is predeclared in every script, but only
// packet callbacks may return it. PacketHook fails when the script has no function fn.
//
// Example:
//
//	def guard(packet):
//	    if "CONFIDENTIAL" in packet.data:
//	        return reject(text = "confidential data in " + packet.arg)
//	    if packet.direction == "download" and packet.to_client:
//	        return packet.data.replace("password=", "password*")
//	    return ACCEPT
func (p *Program) PacketHook(hookName, fn string) (pktfilter.Callback, error) {
	if !p.Has(fn) {
		return nil, fmt.Errorf("script: no function %q in %s", fn, p.filename)
	}
	if hookName == "" {
		hookName = fn
	}
	return &packetHook{p: p, name: hookName, fn: fn}, nil
}

// packetHook is the callback PacketHook returns; it is immutable, so safe for concurrent
// use like its Program.
type packetHook struct {
	p    *Program
	name string
	fn   string
}

var _ pktfilter.Callback = (*packetHook)(nil)

// Name names the callback.
func (h *packetHook) Name() string { return h.name }

// Packet calls the script's function on pkt and returns its decision.
func (h *packetHook) Packet(ctx context.Context, pkt *pktfilter.CallbackPacket) (pktfilter.Decision, error) {
	in := starlark.String(pkt.Data) // the one copy: a Starlark string is immutable
	info := policy.Info{ID: pkt.Meta.Session, User: pkt.Meta.User}
	v, err := h.p.call(ctx, h.fn, info, starlark.Tuple{packet(pkt, in)})
	if err != nil {
		return pktfilter.Decision{}, fmt.Errorf("%s: %w", h.name, err)
	}
	d, err := h.result(v, in)
	if err != nil {
		return pktfilter.Decision{}, fmt.Errorf("%s: %w", h.name, err)
	}
	return d, nil
}

// result turns what the function returned, given in (the packet's data as a Starlark
// string), into a decision.
func (h *packetHook) result(v starlark.Value, in starlark.String) (pktfilter.Decision, error) {
	var s string
	switch v := v.(type) {
	case starlark.NoneType:
		return pktfilter.Decision{Action: pktfilter.Drop}, nil
	case starlark.String:
		s = string(v)
	case starlark.Bytes:
		s = string(v)
	case *verdict:
		return h.verdict(v)
	default:
		return pktfilter.Decision{}, fmt.Errorf("script: callback %s returned %s, want %s", h.fn, v.Type(), packetResults)
	}
	switch {
	case len(s) != len(in):
		return pktfilter.Decision{}, fmt.Errorf("script: callback %s changed the packet's length from %d to %d bytes: a packet callback may only rewrite bytes in place",
			h.fn, len(in), len(s))
	case s == string(in):
		// Unchanged (data itself, or a replace() that found nothing, which returns the
		// same string: the comparison is then a pointer check): no copy.
		return pktfilter.Decision{Action: pktfilter.Accept}, nil
	}
	return pktfilter.Decision{Action: pktfilter.Rewrite, Data: []byte(s)}, nil
}

// verdict turns a verdict the function returned into a decision: ACCEPT, accept(), DROP
// and reject() are a packet callback's.
func (h *packetHook) verdict(v *verdict) (pktfilter.Decision, error) {
	d, err := asVerdict(v)
	if err != nil {
		return pktfilter.Decision{}, fmt.Errorf("script: callback %s %w", h.fn, err)
	}
	switch {
	case d.kind == policy.Accept && !d.rewrite:
		return pktfilter.Decision{Action: pktfilter.Accept}, nil
	case d.kind == kindDrop:
		return pktfilter.Decision{Action: pktfilter.Drop}, nil
	case d.kind == policy.Reject:
		reason := d.text
		if reason == "" {
			reason = "refused by " + h.fn
		}
		return pktfilter.Decision{Action: pktfilter.Stop, Reason: reason}, nil
	}
	return pktfilter.Decision{}, fmt.Errorf("script: callback %s returned %s, want %s", h.fn, d, packetResults)
}

// packet returns the frozen struct a packet callback receives for pkt, whose data is data
// (pkt.Data as a Starlark string).
func packet(pkt *pktfilter.CallbackPacket, data starlark.String) *starlarkstruct.Struct {
	m := pkt.Meta
	s := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"data":      data,
		"offset":    starlark.MakeInt64(pkt.Offset),
		"to_client": starlark.Bool(pkt.ToClient),
		"direction": starlark.String(m.Direction),
		"session":   starlark.MakeUint64(m.Session),
		"user":      starlark.String(m.User),
		"command":   starlark.String(m.Command),
		"arg":       starlark.String(m.Arg),
		"type":      starlark.String(m.Type),
		"rest":      starlark.MakeInt64(m.Rest),
	})
	s.Freeze()
	return s
}
