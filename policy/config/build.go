package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/policy/script"
)

// builder turns the decoded document into a Config.
type builder struct {
	decoder
	readFile func(string) ([]byte, error)
	opts     script.Options
	cfg      *Config
	// prog is the loaded script, nil when none is configured.
	prog *script.Program
	// scriptName is the script: value as written, for messages.
	scriptName string
	// hookDefs are the hooks: by name, for the policies' inspect.hooks.
	hookDefs map[string]hookDef
}

// top decodes the top-level mapping.
func (b *builder) top(root *yaml.Node) error {
	f, err := b.fields(root, "", "version", "script", "default_service", "services", "hooks", "policies")
	if err != nil {
		return err
	}
	v, ok := f["version"]
	if !ok {
		return b.errAt(root, "version", "required (must be %d)", Version)
	}
	if n, err := b.integer(v, "version", -1<<31, 1<<31-1); err != nil {
		return err
	} else if n != Version {
		return b.errAt(v, "version", "must be %d", Version)
	}
	b.cfg.Version = Version
	if n, ok := f["script"]; ok {
		if err := b.loadScript(n); err != nil {
			return err
		}
	}
	if err := b.hooks(f["hooks"]); err != nil {
		return err
	}
	if err := b.policies(f["policies"]); err != nil {
		return err
	}
	if err := b.services(root, f["services"]); err != nil {
		return err
	}
	if n, ok := f["default_service"]; ok {
		name, err := b.str(n, "default_service")
		if err != nil {
			return err
		}
		if name != "" && !b.hasService(name) {
			return b.errAt(n, "default_service", "no service named %q", name)
		}
		b.cfg.DefaultService = name
	}
	return nil
}

// hasService reports whether a service is called name.
func (b *builder) hasService(name string) bool {
	for _, s := range b.cfg.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

// loadScript reads and compiles the callbacks file that n names.
func (b *builder) loadScript(n *yaml.Node) error {
	name, err := b.str(n, "script")
	if err != nil {
		return err
	}
	if name == "" {
		return b.errAt(n, "script", "must not be empty (leave the key out for no script)")
	}
	path := scriptPath(b.file, name)
	src, err := b.readFile(path)
	if err != nil {
		// Not wrapped on purpose: errors.Is(err, fs.ErrNotExist) on a Load error must mean
		// that the configuration file itself is absent, never its script.
		return b.errAt(n, "script", "read %s: %v", path, err)
	}
	prog, err := script.Load(path, src, b.opts)
	if err != nil {
		e := b.errAt(n, "script", "load %s: %v", path, err)
		e.Err = err
		return e
	}
	b.prog, b.scriptName, b.cfg.Script = prog, name, path
	return nil
}

// policies decodes the policies: mapping and builds each policy.
func (b *builder) policies(n *yaml.Node) error {
	entries, err := b.mapping(n, "policies")
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := join("policies", e.key)
		if e.key == "" {
			return b.errAt(e.keyN, path, "policy name must not be empty")
		}
		if isPreset(e.key) {
			return b.errAt(e.keyN, path, "%q is a preset name; choose another name and use base: %s", e.key, e.key)
		}
		p, base, err := b.policy(e.key, e.value, path)
		if err != nil {
			return err
		}
		if err := b.finish(p, base, e.keyN, path); err != nil {
			return err
		}
	}
	return nil
}

// finish sets the callbacks of p, fills its data and TLS defaults, validates it and records it
// under its name.
func (b *builder) finish(p *policy.Policy, base string, at *yaml.Node, path string) error {
	p.Data, p.TLS = p.Data.WithDefaults(), p.TLS.WithDefaults()
	if b.prog != nil {
		p.Callbacks = b.prog
	}
	if err := p.Validate(); err != nil {
		e := b.errAt(at, path, "%v", err)
		e.Err = err
		return e
	}
	b.cfg.Policies[p.Name] = p
	b.cfg.bases[p.Name] = base
	return nil
}

// lookupPolicy returns the policy a service names: one under policies:, or a preset that
// is built (once) on first use.
func (b *builder) lookupPolicy(name string, at *yaml.Node, path string) (*policy.Policy, error) {
	if p, ok := b.cfg.Policies[name]; ok {
		return p, nil
	}
	if !isPreset(name) {
		return nil, b.errAt(at, path, "undefined policy %q (not under policies:, and not a preset: %s)",
			name, strings.Join(policy.PresetNames(), ", "))
	}
	p, err := policy.Preset(name)
	if err != nil {
		return nil, b.errAt(at, path, "preset %q: %v", name, err)
	}
	p.Name = name
	if err := b.finish(p, name, at, path); err != nil {
		return nil, err
	}
	return p, nil
}

// isPreset reports whether name is one of the engine's presets.
func isPreset(name string) bool {
	return contains(policy.PresetNames(), name)
}

// checkCallback reports whether the script defines the function an entry names.
func (b *builder) checkCallback(name string, at *yaml.Node, path string) error {
	if b.prog == nil {
		return b.errAt(at, path, "callback %q needs a script (set script: at the top level)", name)
	}
	if !b.prog.Has(name) {
		return b.errAt(at, path, "function %q is not defined in %s", name, b.scriptName)
	}
	return nil
}

// describeKinds lists action names for messages.
func describeKinds(kinds []policy.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// kindByName maps configuration action names to kinds.
func kindByName(name string) (policy.Kind, bool) {
	for _, k := range allKinds() {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

// allKinds returns the actions in the order messages list them.
func allKinds() []policy.Kind {
	return []policy.Kind{policy.Accept, policy.Reject, policy.Abort, policy.Change, policy.Callback}
}

// unknownAction formats the error for an action name that does not exist.
func unknownAction(name string) string {
	return fmt.Sprintf("unknown action %q (%s)", name, describeKinds(allKinds()))
}
