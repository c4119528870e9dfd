package config

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// decoder walks a yaml.Node tree and reports every problem as an *Error that names the
// file, the line and the key path.
type decoder struct {
	file string
}

// entry is one key/value pair of a YAML mapping.
type entry struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// resolve follows aliases, so that "*anchor" reads like the value it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an explicit or implicit YAML null ("key:" with no value).
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// join appends key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a key path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// errAt builds an *Error at n's line.
func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) *Error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return errorf(d.file, line, path, format, args...)
}

// mapping returns the entries of the mapping n in file order, refusing duplicate keys.
// A null n is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string) ([]entry, error) {
	if isNull(n) {
		return nil, nil
	}
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, d.errAt(n, path, "must be a mapping")
	}
	seen := make(map[string]int, len(n.Content)/2)
	entries := make([]entry, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, d.errAt(k, path, "keys must be scalars")
		}
		if first, dup := seen[k.Value]; dup {
			return nil, d.errAt(k, join(path, k.Value), "duplicate key (first at line %d)", first)
		}
		seen[k.Value] = k.Line
		entries = append(entries, entry{key: k.Value, keyN: k, value: n.Content[i+1]})
	}
	return entries, nil
}

// fields decodes a mapping whose keys must all be in known. It returns the values by key;
// keys with a null value are left out, as if absent.
func (d *decoder) fields(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, error) {
	entries, err := d.mapping(n, path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*yaml.Node, len(entries))
	for _, e := range entries {
		if !contains(known, e.key) {
			if to, why, ok := renamedKey(e.key); ok && contains(known, to) {
				return nil, d.errAt(e.keyN, join(path, e.key), "renamed to %s, which %s", to, why)
			}
			return nil, d.errAt(e.keyN, join(path, e.key), "unknown key")
		}
		if !isNull(e.value) {
			out[e.key] = resolve(e.value)
		}
	}
	return out, nil
}

// renamedKey names the key that replaced an old one, and why.
func renamedKey(key string) (to, why string, ok bool) {
	switch key {
	case "log", "learning":
		return "dry_run", "ACCEPTS what would be refused and only logs it (to refuse, leave it out)", true
	}
	return "", "", false
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str decodes a string scalar.
func (d *decoder) str(n *yaml.Node, path string) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", d.errAt(n, path, "must be a string")
	}
	return n.Value, nil
}

// integer decodes an integer scalar in [lo, hi].
func (d *decoder) integer(n *yaml.Node, path string, lo, hi int) (int, error) {
	n = resolve(n)
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		return 0, d.errAt(n, path, "must be an integer")
	}
	if v < lo || v > hi {
		return 0, d.errAt(n, path, "%d out of range %d-%d", v, lo, hi)
	}
	return v, nil
}

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, error) {
	n = resolve(n)
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		return false, d.errAt(n, path, "must be true or false")
	}
	return v, nil
}

// list returns the items of a sequence; a null n is an empty list.
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, error) {
	if isNull(n) {
		return nil, nil
	}
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, d.errAt(n, path, "must be a list")
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = resolve(c)
	}
	return items, nil
}

// strings decodes a list of strings.
func (d *decoder) strings(n *yaml.Node, path string) ([]string, error) {
	items, err := d.list(n, path)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := d.str(it, index(path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
