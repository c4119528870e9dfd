package inspect

import (
	"context"
	"net/netip"
	"time"
)

// Object is what the hooks know of one transfer's data: the command and the session it
// belongs to, and once it is whole, its size and digest.
type Object struct {
	Session   uint64
	Command   string // the verb: RETR, STOR, APPE, STOU, LIST…
	Arg       string
	Rest      int64  // the REST offset: the object starts there (RestPart)
	Type      string // the representation type (TYPE)
	User      string
	Client    netip.AddrPort
	Server    netip.AddrPort
	TLSClient string // the client data leg's TLS ("" plain)
	TLSServer string
	Upload    bool // toward the server
	Size      int64
	SHA256    string
}

// Direction names the object's direction as the records do.
func (o *Object) Direction() string {
	if o.Upload {
		return "upload"
	}
	return "download"
}

// Verdict is one hook's decision on an object.
type Verdict struct {
	Hook  string `json:"hook"`
	Allow bool   `json:"allow"`
	// Reason says why (a signature found, a policy's words, the failure).
	Reason string `json:"reason,omitempty"`
	// Failed: the hook timed out, crashed or could not be reached; the failure policy
	// decided Allow.
	Failed bool `json:"failed,omitempty"`
}

// Hook decides on whole objects.
type Hook interface {
	// Name names the hook in verdicts and logs.
	Name() string
	// Inspect decides on obj, whose bytes body holds. An error means the hook failed: the
	// failure policy decides.
	Inspect(ctx context.Context, obj *Object, body *Spool) (Verdict, error)
}

// ChunkHook sees each chunk of a transfer as it passes (chunk mode) and may pass it,
// replace it or drop it. Chunks are the pieces the sending side's reads happen to yield
// (at most 64 KiB, of any size): a hook must not count on where they begin or end.
type ChunkHook interface {
	// Name names the hook in verdicts and logs.
	Name() string
	// Chunk returns what passes on in place of data, the seq-th chunk (from 0) of obj:
	// data itself, other bytes, or nothing (an empty slice) to drop it. An error fails the
	// hook: the failure policy decides whether the chunk passes unchanged (open) or the
	// transfer ends, refused (closed).
	Chunk(ctx context.Context, obj *Object, seq int, data []byte) ([]byte, error)
}

// TimeoutOf is how long hook h may take: its own timeout, or DefaultHookTimeout.
func TimeoutOf(h Hook) time.Duration {
	if t, ok := h.(interface{ HookTimeout() time.Duration }); ok && t.HookTimeout() > 0 {
		return t.HookTimeout()
	}
	return DefaultHookTimeout
}

// Decide runs the hooks on obj in order until one refuses, and returns every verdict and
// whether the object may pass. A failed hook's verdict follows fail.
func Decide(ctx context.Context, hooks []Hook, fail Fail, obj *Object, body *Spool) ([]Verdict, bool) {
	var out []Verdict
	for _, h := range hooks {
		v, err := h.Inspect(ctx, obj, body)
		if err != nil {
			v = Verdict{Hook: h.Name(), Allow: fail == FailOpen, Reason: err.Error(), Failed: true}
		}
		v.Hook = h.Name()
		out = append(out, v)
		if !v.Allow {
			return out, false
		}
	}
	return out, true
}
