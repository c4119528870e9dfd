package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/inspect"
)

// hooks decodes the top-level hooks: mapping, name to definition, into b.hooks.
//
//	hooks:
//	  av:
//	    exec: [clamdscan, --fdpass, --no-summary, -]
//	    timeout: 60s
func (b *builder) hooks(n *yaml.Node) error {
	b.hookDefs = map[string]inspect.Hook{}
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
		f, err := b.fields(e.value, path, "exec", "timeout")
		if err != nil {
			return err
		}
		v, ok := f["exec"]
		if !ok {
			return b.errAt(e.value, join(path, "exec"), "required: the command and its arguments")
		}
		argv, err := b.strings(v, join(path, "exec"))
		if err != nil {
			return err
		}
		if len(argv) == 0 || argv[0] == "" {
			return b.errAt(v, join(path, "exec"), "must name a command")
		}
		h := &inspect.Exec{HookName: e.key, Command: argv, Timeout: inspect.DefaultHookTimeout}
		if t, ok := f["timeout"]; ok {
			if h.Timeout, err = b.duration(t, join(path, "timeout")); err != nil {
				return err
			}
		}
		b.hookDefs[e.key] = h
	}
	return nil
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
		s.Hooks = nil
		for i, name := range names {
			h, ok := b.hookDefs[name]
			if !ok {
				return b.errAt(nodes[i], index(path+".hooks", i), "no hook named %q under hooks:", name)
			}
			s.Hooks = append(s.Hooks, h)
		}
	}
	if err := b.inspectSizes(f, path, s); err != nil {
		return err
	}
	if s.Active() && len(s.Hooks) == 0 {
		return b.errAt(n, join(path, "hooks"), "download or upload is %s/%s but no hook is named", or(s.Download), or(s.Upload))
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
	return fmt.Sprintf("download %s, upload %s, hooks %s, fail %s, rest %s, spool_memory %d, max_size %d",
		s.Download, s.Upload, strings.Join(names, ","), s.Fail, s.Rest, s.SpoolMemory, s.MaxSize)
}
