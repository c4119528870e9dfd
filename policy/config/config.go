package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/policy/script"
)

// Version is the only configuration format version this package reads.
const Version = 1

// DefaultPath is where ftpgate looks for its configuration unless told otherwise.
const DefaultPath = "/etc/ftpgate/ftpgate.yaml"

// Config is a loaded configuration: ordered services and the policies they use. It is
// immutable once built; a reload builds a new one, so running sessions keep theirs.
type Config struct {
	// Version is the format version (always 1).
	Version int
	// Path is where the configuration was loaded from ("" for the built-in default).
	Path string
	// Script is the resolved path of the Starlark callbacks file, "" when none.
	Script string
	// Services are tried in order; the first that matches a connection wins.
	Services []Service
	// DefaultService names the service for connections that match none; "" refuses them.
	DefaultService string
	// Policies holds every policy by name: those under policies: and the presets that
	// services name directly. Each is validated, with Callbacks set when a script is
	// configured.
	Policies map[string]*policy.Policy

	// bases records the preset each policy was built from, for Describe.
	bases map[string]string
}

// Service picks a policy for the connections it matches.
type Service struct {
	// Name names the service in logs.
	Name string
	// ClientNets and ServerNets are the networks the client's and the server's addresses
	// must fall in (any, when the configuration leaves them out: 0.0.0.0/0 and ::/0).
	ClientNets []netip.Prefix
	ServerNets []netip.Prefix
	// ServerPorts are the server ports matched (default 21).
	ServerPorts []PortRange
	// PolicyName names the policy: a key under policies: or a preset name.
	PolicyName string
	// Policy is the policy itself, shared with Config.Policies.
	Policy *policy.Policy
}

// PortRange is an inclusive range of TCP ports; a single port has From == To.
type PortRange struct{ From, To uint16 }

// Contains reports whether port is in r.
func (r PortRange) Contains(port uint16) bool { return r.From <= port && port <= r.To }

// String formats r as "21" or "2000-2100".
func (r PortRange) String() string {
	if r.From == r.To {
		return fmt.Sprint(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// Load reads the configuration file at path and the script it names. Errors are *Error;
// only a configuration file that cannot be read wraps the underlying error, so
// errors.Is(err, fs.ErrNotExist) means that the file itself is absent.
func Load(path string) (*Config, error) {
	return LoadWith(path, script.Options{})
}

// LoadWith is Load with options for the script (its step limit and the logger that
// receives what it prints).
func LoadWith(path string, opts script.Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("read: %v", err), Err: err}
	}
	return parse(path, data, os.ReadFile, opts)
}

// Parse decodes the configuration data read from path (which names it in errors and
// anchors a relative script path). readFile loads the script; nil means os.ReadFile.
// Errors are *Error.
func Parse(path string, data []byte, readFile func(string) ([]byte, error)) (*Config, error) {
	return parse(path, data, readFile, script.Options{})
}

// parse is Parse with script options.
func parse(path string, data []byte, readFile func(string) ([]byte, error), opts script.Options) (*Config, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	root, err := document(path, data)
	if err != nil {
		return nil, err
	}
	b := &builder{
		decoder:  decoder{file: path},
		readFile: readFile,
		opts:     opts,
		cfg: &Config{
			Path:     path,
			Policies: map[string]*policy.Policy{},
			bases:    map[string]string{},
		},
	}
	if err := b.top(root); err != nil {
		return nil, err
	}
	return b.cfg, nil
}

// document parses data into its single YAML document's root node.
func document(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: path, Msg: "empty configuration"}
		}
		return nil, syntaxError(path, err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, &Error{File: path, Msg: "empty configuration"}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(path, err)
	default:
		return nil, errorf(path, next.Line, "", "more than one YAML document")
	}
	return doc.Content[0], nil
}

// Default is the built-in configuration used when no file is given: one service "default"
// that matches every connection and applies the preset "readwrite". A gateway dropped in
// front of existing users must not break their uploads, renames or deletions; unknown
// commands, commands out of sequence and answers no RFC allows are still refused.
func Default() *Config {
	p, err := policy.Preset("readwrite")
	if err != nil {
		// The engine always provides readwrite; a missing preset is a build defect.
		panic(fmt.Sprintf("config: preset readwrite: %v", err))
	}
	p.Name = "readwrite"
	p.Data, p.TLS = p.Data.WithDefaults(), p.TLS.WithDefaults()
	return &Config{
		Version: Version,
		Services: []Service{{
			Name:        "default",
			ClientNets:  anyNets(),
			ServerNets:  anyNets(),
			ServerPorts: []PortRange{{From: 21, To: 21}},
			PolicyName:  "readwrite",
			Policy:      p,
		}},
		Policies: map[string]*policy.Policy{"readwrite": p},
		bases:    map[string]string{"readwrite": "readwrite"},
	}
}

// anyNets is the default network list: every IPv4 and every IPv6 address.
func anyNets() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
}

// scriptPath resolves the script: key relative to the configuration file's directory.
func scriptPath(configPath, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(configPath), name)
}
