package script

import (
	"context"
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/policy"
)

// MaxChunkOut bounds the bytes a chunk callback may put in place of one chunk.
const MaxChunkOut = 16 << 20

// Refusal is the error of a chunk callback that returned reject(): the transfer is to be
// refused, not merely the hook counted as failed (which the failure policy may let pass).
// Its text is the reject() text, or "refused by <function>" when that was empty. A caller
// that does not import this package finds it with errors.As and an
// interface{ Refused() bool } target.
type Refusal struct {
	Text string
}

// Error returns the refusal's text.
func (r *Refusal) Error() string { return r.Text }

// Refused reports true: the error is a refusal, not a failure.
func (r *Refusal) Refused() bool { return true }

// ChunkHook returns an inspect.ChunkHook named hookName ("" names it after fn) that calls
// the script's function fn on each chunk of a transfer as
//
//	fn(data, transfer)
//
// data is a Starlark string holding the chunk's raw bytes: Starlark strings hold any bytes,
// not only UTF-8 text, so len(data) is its length in bytes and data.replace("foo", "bar"),
// data.find("secret"), "\x00" in data and data[:4] work on the bytes as they are (the
// methods that look at characters, such as elems() or upper(), see invalid UTF-8 as
// U+FFFD). transfer is the struct TransferHook's callbacks get, where size is the bytes of
// the earlier chunks (obj.Size as the caller keeps it) and sha256 is not known yet (""),
// with one more field, seq (int): the chunk's index from 0. Chunks are wherever the
// sending side's reads ended: a pattern may be split between two chunks.
//
// It returns what passes on in the chunk's place:
//
//	ACCEPT, accept()     the chunk, unchanged
//	a string or bytes    these bytes (at most MaxChunkOut)
//	None or ""           nothing: the chunk is dropped
//	reject(code, text)   a *Refusal error with text: the transfer is to be refused (code
//	                     is ignored)
//
// Anything else (DROP among them: it is for packet callbacks, None drops a chunk), a
// runtime error or the step limit (Options.MaxSteps, per chunk) is an error: the hook
// failed. Each call is cancelled when its context is done. ChunkHook fails when the script
// has no function fn.
//
// Example:
//
//	def redact(data, transfer):
//	    if transfer.direction != "download" or transfer.extension != "csv":
//	        return ACCEPT
//	    if "CONFIDENTIAL" in data:
//	        return reject(text = "confidential data in " + transfer.name)
//	    return data.replace("password=", "password=*")
func (p *Program) ChunkHook(hookName, fn string) (inspect.ChunkHook, error) {
	if !p.Has(fn) {
		return nil, fmt.Errorf("script: no function %q in %s", fn, p.filename)
	}
	if hookName == "" {
		hookName = fn
	}
	return &chunkHook{p: p, name: hookName, fn: fn}, nil
}

// chunkHook is the hook ChunkHook returns; it is immutable, so safe for concurrent use
// like its Program.
type chunkHook struct {
	p    *Program
	name string
	fn   string
}

var _ inspect.ChunkHook = (*chunkHook)(nil)

// Name names the hook.
func (h *chunkHook) Name() string { return h.name }

// Chunk calls the script's function on the seq-th chunk of obj and returns what passes on.
func (h *chunkHook) Chunk(ctx context.Context, obj *inspect.Object, seq int, data []byte) ([]byte, error) {
	in := starlark.String(data) // the one copy: a Starlark string is immutable
	t := transfer(obj, starlark.StringDict{"seq": starlark.MakeInt(seq)})
	v, err := h.p.call(ctx, h.fn, objectInfo(obj), starlark.Tuple{in, t})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.name, err)
	}
	out, err := h.result(v, in, data)
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		return nil, err // its text is the script's own
	case err != nil:
		return nil, fmt.Errorf("%s: %w", h.name, err)
	}
	return out, nil
}

// result turns what the function returned, given in (data as a Starlark string), into the
// bytes that pass on.
func (h *chunkHook) result(v starlark.Value, in starlark.String, data []byte) ([]byte, error) {
	var s string
	switch v := v.(type) {
	case starlark.NoneType:
		return data[:0], nil
	case starlark.String:
		s = string(v)
	case starlark.Bytes:
		s = string(v)
	default:
		d, err := transferVerdict(v)
		if err != nil {
			return nil, fmt.Errorf("script: callback %s %w", h.fn, err)
		}
		if d.kind == policy.Accept {
			return data, nil
		}
		if d.text == "" {
			return nil, &Refusal{Text: "refused by " + h.fn}
		}
		return nil, &Refusal{Text: d.text}
	}
	switch {
	case s == string(in):
		// Unchanged (data itself, or a replace() that found nothing, which returns the
		// same string: the comparison is then a pointer check): no copy.
		return data, nil
	case len(s) > MaxChunkOut:
		return nil, fmt.Errorf("script: callback %s returned %d bytes for a chunk, more than %d", h.fn, len(s), MaxChunkOut)
	}
	return []byte(s), nil
}
