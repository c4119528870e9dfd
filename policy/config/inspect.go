package config

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/inspect"
)

// hookDef is one named hook: a whole-object hook or a chunk hook.
type hookDef struct {
	hook  inspect.Hook
	chunk inspect.ChunkHook
}

// hookKinds are the keys that define a hook, one per definition.
var hookKinds = []string{"exec", "icap", "starlark", "chunk"}

// hooks decodes the top-level hooks: mapping, name to definition, into b.hookDefs.
//
//	hooks:
//	  av:
//	    exec: [clamdscan, --fdpass, --no-summary, -]
//	    timeout: 60s
//	  icap:
//	    icap: icap://127.0.0.1:1344/avscan
//	  rules:
//	    starlark: transfer_allowed   # a function of the script: the whole object
//	  rewrite:
//	    chunk: rewrite_chunk         # a function of the script: each chunk
func (b *builder) hooks(n *yaml.Node) error {
	b.hookDefs = map[string]hookDef{}
	if n == nil {
		return nil
	}
	entries, err := b.mapping(n, "hooks")
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := join("hooks", e.key)
		if e.key == "" {
			return b.errAt(e.keyN, path, "hook name must not be empty")
		}
		f, err := b.fields(e.value, path, append(hookKinds, "timeout")...)
		if err != nil {
			return err
		}
		var kinds []string
		for _, k := range hookKinds {
			if _, ok := f[k]; ok {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) != 1 {
			return b.errAt(e.value, path, "needs exactly one of %s (has %d)", strings.Join(hookKinds, ", "), len(kinds))
		}
		timeout := inspect.DefaultHookTimeout
		if t, ok := f["timeout"]; ok {
			if kinds[0] == "chunk" {
				return b.errAt(t, join(path, "timeout"), "a chunk hook has no timeout: the script's step limit bounds each call")
			}
			if timeout, err = b.duration(t, join(path, "timeout")); err != nil {
				return err
			}
		}
		d, err := b.hook(e.key, kinds[0], f[kinds[0]], join(path, kinds[0]), timeout)
		if err != nil {
			return err
		}
		b.hookDefs[e.key] = d
	}
	return nil
}

// hook builds the hook name of the given kind from its definition v.
func (b *builder) hook(name, kind string, v *yaml.Node, path string, timeout time.Duration) (hookDef, error) {
	switch kind {
	case "exec":
		argv, err := b.strings(v, path)
		if err != nil {
			return hookDef{}, err
		}
		if len(argv) == 0 || argv[0] == "" {
			return hookDef{}, b.errAt(v, path, "must name a command")
		}
		return hookDef{hook: &inspect.Exec{HookName: name, Command: argv, Timeout: timeout}}, nil
	case "icap":
		u, err := b.nonEmpty(v, path)
		if err != nil {
			return hookDef{}, err
		}
		h, err := inspect.NewICAP(name, u, timeout)
		if err != nil {
			return hookDef{}, b.errAt(v, path, "%v", err)
		}
		return hookDef{hook: h}, nil
	}
	fn, err := b.nonEmpty(v, path)
	if err != nil {
		return hookDef{}, err
	}
	if err := b.checkCallback(fn, v, path); err != nil {
		return hookDef{}, err
	}
	if kind == "chunk" {
		h, err := b.prog.ChunkHook(name, fn)
		if err != nil {
			return hookDef{}, b.errAt(v, path, "%v", err)
		}
		return hookDef{chunk: h}, nil
	}
	h, err := b.prog.TransferHook(name, fn, timeout)
	if err != nil {
		return hookDef{}, b.errAt(v, path, "%v", err)
	}
	return hookDef{hook: h}, nil
}

// inspection decodes a policy's inspect: mapping into s.
func (b *builder) inspection(n *yaml.Node, path string, s *inspect.Settings) error {
	if n == nil {
		return nil
	}
	f, err := b.fields(n, path, "download", "upload", "hooks", "fail", "rest", "spool_memory", "spool_dir", "max_size")
	if err != nil {
		return err
	}
	if err := enum(b, f, path, "download", &s.Download, inspect.DownloadModes()); err != nil {
		return err
	}
	if err := enum(b, f, path, "upload", &s.Upload, inspect.UploadModes()); err != nil {
		return err
	}
	if err := enum(b, f, path, "fail", &s.Fail, inspect.Fails()); err != nil {
		return err
	}
	if err := enum(b, f, path, "rest", &s.Rest, inspect.Rests()); err != nil {
		return err
	}
	if v, ok := f["hooks"]; ok {
		names, err := b.strings(v, join(path, "hooks"))
		if err != nil {
			return err
		}
		nodes, _ := b.list(v, join(path, "hooks"))
		s.Hooks, s.ChunkHooks = nil, nil
		for i, name := range names {
			d, ok := b.hookDefs[name]
			if !ok {
				return b.errAt(nodes[i], index(path+".hooks", i), "no hook named %q under hooks:", name)
			}
			if d.chunk != nil {
				s.ChunkHooks = append(s.ChunkHooks, d.chunk)
			} else {
				s.Hooks = append(s.Hooks, d.hook)
			}
		}
	}
	if err := b.inspectSizes(f, path, s); err != nil {
		return err
	}
	return b.checkHookModes(n, path, s)
}

// checkHookModes checks that every mode at work has hooks of its kind, and every hook
// named a mode to work in: chunk hooks for chunk mode, whole-object hooks for observe and
// inspect.
func (b *builder) checkHookModes(n *yaml.Node, path string, s *inspect.Settings) error {
	chunk := s.Download == inspect.ModeChunk || s.Upload == inspect.ModeChunk
	modes := fmt.Sprintf("download is %s, upload %s", or(s.Download), or(s.Upload))
	switch {
	case chunk && len(s.ChunkHooks) == 0:
		return b.errAt(n, join(path, "hooks"), "%s, but no chunk hook (one defined with chunk:) is named", modes)
	case s.WholeObjects() && len(s.Hooks) == 0:
		return b.errAt(n, join(path, "hooks"), "%s, but no whole-object hook (exec:, icap: or starlark:) is named", modes)
	case len(s.ChunkHooks) > 0 && !chunk:
		return b.errAt(n, join(path, "hooks"), "%s: chunk hook %q needs a direction in chunk mode", modes, s.ChunkHooks[0].Name())
	case len(s.Hooks) > 0 && !s.WholeObjects():
		return b.errAt(n, join(path, "hooks"), "%s: hook %q needs a direction in observe or inspect mode", modes, s.Hooks[0].Name())
	}
	return nil
}

// inspectSizes decodes spool_memory, max_size and spool_dir.
func (b *builder) inspectSizes(f map[string]*yaml.Node, path string, s *inspect.Settings) error {
	if v, ok := f["spool_memory"]; ok {
		n, err := b.size(v, join(path, "spool_memory"))
		if err != nil {
			return err
		}
		if n < 64<<10 || n > 1<<30 {
			return b.errAt(v, join(path, "spool_memory"), "must be between 64KiB and 1GiB")
		}
		s.SpoolMemory = int(n)
	}
	if v, ok := f["max_size"]; ok {
		var err error
		if s.MaxSize, err = b.size(v, join(path, "max_size")); err != nil {
			return err
		}
	}
	if v, ok := f["spool_dir"]; ok {
		dir, err := b.nonEmpty(v, join(path, "spool_dir"))
		if err != nil {
			return err
		}
		s.SpoolDir = scriptPath(b.file, dir)
	}
	return nil
}

// or names an empty mode as its default.
func or(m inspect.Mode) inspect.Mode {
	if m == "" {
		return inspect.ModeNone
	}
	return m
}

// duration decodes a Go duration ("60s", "2m"); it must be positive.
func (b *builder) duration(n *yaml.Node, path string) (time.Duration, error) {
	s, err := b.str(n, path)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, b.errAt(n, path, "invalid duration %q (e.g. 30s, 2m)", s)
	}
	return d, nil
}

// size decodes a byte count: a number of bytes, or one with the unit KiB, MiB or GiB
// ("8MiB"). It must be positive.
func (b *builder) size(n *yaml.Node, path string) (int64, error) {
	s, err := b.str(n, path)
	if err != nil {
		return 0, err
	}
	num, mult := s, int64(1)
	for unit, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, unit) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, unit)), m
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/mult {
		return 0, b.errAt(n, path, "invalid size %q (bytes, or with KiB, MiB, GiB: 8MiB)", s)
	}
	return v * mult, nil
}

// describeInspect says what a policy's inspection does, for ftpgate check.
func describeInspect(s inspect.Settings) string {
	s = s.WithDefaults()
	if !s.Active() {
		return "none"
	}
	var names []string
	for _, h := range s.Hooks {
		names = append(names, h.Name())
	}
	for _, h := range s.ChunkHooks {
		names = append(names, h.Name())
	}
	return fmt.Sprintf("download %s, upload %s, hooks %s, fail %s, rest %s, spool_memory %d, max_size %d",
		s.Download, s.Upload, strings.Join(names, ","), s.Fail, s.Rest, s.SpoolMemory, s.MaxSize)
}

// Close lets go of what the configuration's hooks hold open (an ICAP hook's idle
// connections), once no new session takes this configuration; sessions still running on it
// go on (a closed ICAP hook works, without keeping connections).
func (c *Config) Close() error {
	var errs []error
	seen := map[inspect.Hook]bool{}
	for _, p := range c.Policies {
		for _, h := range p.Inspect.Hooks {
			if cl, ok := h.(io.Closer); ok && !seen[h] {
				seen[h] = true
				errs = append(errs, cl.Close())
			}
		}
	}
	return errors.Join(errs...)
}
