package script

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/policy"
)

// TransferHook returns an inspect.Hook named hookName ("" names it after fn) that decides
// on each whole object by calling the script's function fn as
//
//	fn(transfer)
//
// transfer is a frozen struct with the fields
//
//	session      int     the session's id
//	command      string  the verb: "RETR", "STOR", "APPE", "STOU", …
//	path         string  the command's parameter, as the client sent it
//	name         string  the path's last element ("archive.tar.gz")
//	extension    string  the name's extension, lower-case, without the dot ("gz"); "" when
//	                     the name has none or only starts with a dot (".profile")
//	size         int     the object's bytes
//	direction    string  "download" (toward the client) or "upload" (toward the server)
//	user         string  the user name sent with USER
//	client       string  the client's address ("198.51.100.2"), client_port its port
//	server       string  the server's address, server_port its port
//	tls          bool    either data leg is protected
//	tls_client   string  the client leg's TLS ("" when plain), tls_server the server leg's
//	rest         int     the REST offset the object starts at (0 for a whole object)
//	type         string  the representation type: "A", "I", …
//	sha256       string  the object's digest, in hex
//
// It must return a verdict:
//
//	ACCEPT, accept()    the object passes
//	reject(code, text)  it is refused; text (both optional) is the verdict's reason in the
//	                    audit record ("refused by fn" when empty). code is ignored: the
//	                    client gets the transfer's own refusal reply
//
// Anything else (ABORT, DROP, change(), accept(param), a string, None), a runtime error, the
// step limit (Options.MaxSteps) or the timeout is a failure of the hook, an error from
// Inspect: the policy's failure setting decides. timeout bounds each call (0:
// inspect.DefaultHookTimeout). TransferHook fails when the script has no function fn.
//
// Example:
//
//	BLOCKED = {"exe": True, "dll": True, "scr": True}
//
//	def uploads(transfer):
//	    if transfer.direction == "upload" and BLOCKED.get(transfer.extension):
//	        return reject(553, "No executables, " + transfer.user + ".")
//	    if transfer.size > 100 * 1024 * 1024 and not transfer.tls:
//	        return reject(text = "large transfers must be protected")
//	    return ACCEPT
func (p *Program) TransferHook(hookName, fn string, timeout time.Duration) (inspect.Hook, error) {
	if !p.Has(fn) {
		return nil, fmt.Errorf("script: no function %q in %s", fn, p.filename)
	}
	if hookName == "" {
		hookName = fn
	}
	if timeout <= 0 {
		timeout = inspect.DefaultHookTimeout
	}
	return &transferHook{p: p, name: hookName, fn: fn, timeout: timeout}, nil
}

// transferHook is the hook TransferHook returns; it is immutable, so safe for concurrent
// use like its Program.
type transferHook struct {
	p       *Program
	name    string
	fn      string
	timeout time.Duration
}

var _ inspect.Hook = (*transferHook)(nil)

// Name names the hook.
func (h *transferHook) Name() string { return h.name }

// HookTimeout is how long one call may take.
func (h *transferHook) HookTimeout() time.Duration { return h.timeout }

// Inspect calls the script's function on obj; the function sees the metadata, not body.
func (h *transferHook) Inspect(ctx context.Context, obj *inspect.Object, _ *inspect.Spool) (inspect.Verdict, error) {
	cctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	v, err := h.p.call(cctx, h.fn, objectInfo(obj), starlark.Tuple{transfer(obj, nil)})
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return inspect.Verdict{}, fmt.Errorf("%s: no verdict within %s: %w", h.name, h.timeout, err)
		}
		return inspect.Verdict{}, fmt.Errorf("%s: %w", h.name, err)
	}
	d, err := transferVerdict(v)
	if err != nil {
		return inspect.Verdict{}, fmt.Errorf("%s: script: callback %s %w", h.name, h.fn, err)
	}
	if d.kind == policy.Accept {
		return inspect.Verdict{Hook: h.name, Allow: true}, nil
	}
	reason := d.text
	if reason == "" {
		reason = "refused by " + h.fn
	}
	return inspect.Verdict{Hook: h.name, Reason: reason}, nil
}

// transferVerdict checks that v is a verdict a transfer callback may return: ACCEPT,
// accept() or reject().
func transferVerdict(v starlark.Value) (*verdict, error) {
	d, err := asVerdict(v)
	if err != nil {
		return nil, err
	}
	switch {
	case d.kind == policy.Accept && !d.rewrite, d.kind == policy.Reject:
		return d, nil
	case d.kind == kindDrop:
		return nil, errDrop(d)
	}
	return nil, fmt.Errorf("returned %s, want ACCEPT, accept() or reject() for a transfer", d)
}

// objectInfo is what run logs of the session obj belongs to.
func objectInfo(obj *inspect.Object) policy.Info {
	return policy.Info{ID: obj.Session, Client: obj.Client, Server: obj.Server, User: obj.User}
}

// transfer returns the frozen struct a transfer callback receives for obj, with the extra
// fields (the chunk's seq) besides.
func transfer(obj *inspect.Object, extra starlark.StringDict) *starlarkstruct.Struct {
	client, clientPort := endpoint(obj.Client)
	server, serverPort := endpoint(obj.Server)
	name := baseName(obj.Arg)
	d := starlark.StringDict{
		"session":     starlark.MakeUint64(obj.Session),
		"command":     starlark.String(obj.Command),
		"path":        starlark.String(obj.Arg),
		"name":        starlark.String(name),
		"extension":   starlark.String(extension(name)),
		"size":        starlark.MakeInt64(obj.Size),
		"direction":   starlark.String(obj.Direction()),
		"user":        starlark.String(obj.User),
		"client":      starlark.String(client),
		"client_port": starlark.MakeInt(int(clientPort)),
		"server":      starlark.String(server),
		"server_port": starlark.MakeInt(int(serverPort)),
		"tls":         starlark.Bool(obj.TLSClient != "" || obj.TLSServer != ""),
		"tls_client":  starlark.String(obj.TLSClient),
		"tls_server":  starlark.String(obj.TLSServer),
		"rest":        starlark.MakeInt64(obj.Rest),
		"type":        starlark.String(obj.Type),
		"sha256":      starlark.String(obj.SHA256),
	}
	for k, v := range extra {
		d[k] = v
	}
	s := starlarkstruct.FromStringDict(starlarkstruct.Default, d)
	s.Freeze()
	return s
}

// baseName returns the last element of the FTP path p ("/pub/a.txt" → "a.txt"; trailing
// slashes ignored; "" for "" or "/").
func baseName(p string) string {
	p = strings.TrimRight(p, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// extension returns name's extension, lower-case and without the dot ("a.tar.GZ" → "gz"),
// or "" when it has none: no dot, a trailing dot, or only a leading one (".profile").
func extension(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}
