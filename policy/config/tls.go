package config

import (
	"errors"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/policy"
)

// tls decodes a policy's tls: mapping into t (which holds the base's settings): the leg
// settings, the certificate source toward clients (a static certificate or a minting CA,
// loaded here so that a bad file fails the configuration, not the first session) and the
// verification of servers. Relative file names are relative to the configuration file.
// Defaults are filled in (TLSPolicy.WithDefaults) when the policy is finished.
func (b *builder) tls(n *yaml.Node, path string, t *policy.TLSPolicy) error {
	f, err := b.fields(n, path, "client", "server", "certificate", "mint", "verify", "ca_file", "pins", "ccc")
	if err != nil {
		return err
	}
	if v, ok := f["ccc"]; ok {
		if t.AllowCCC, err = b.boolean(v, join(path, "ccc")); err != nil {
			return err
		}
	}
	if err := enum(b, f, path, "client", &t.Client, policy.TLSLegs()); err != nil {
		return err
	}
	if err := enum(b, f, path, "server", &t.Server, policy.TLSLegs()); err != nil {
		return err
	}
	if err := enum(b, f, path, "verify", &t.Verify.Mode, policy.VerifyModes()); err != nil {
		return err
	}

	if v, ok := f["certificate"]; ok {
		p := join(path, "certificate")
		cert, key, err := b.filePair(v, p, "cert", "key")
		if err != nil {
			return err
		}
		certs, err := ftptls.LoadStatic(cert, key)
		if err != nil {
			return b.loadError(v, p, err, map[string]string{cert: "cert", key: "key"})
		}
		t.Certs, t.CertFile, t.KeyFile, t.MintCA, t.MintKey = certs, cert, key, "", ""
	}
	if v, ok := f["mint"]; ok {
		p := join(path, "mint")
		if _, both := f["certificate"]; both {
			return b.errAt(v, p, "exclusive with certificate (set one of them)")
		}
		ca, key, err := b.filePair(v, p, "ca", "key")
		if err != nil {
			return err
		}
		m, err := ftptls.LoadMinter(ca, key)
		if err != nil {
			return b.loadError(v, p, err, map[string]string{ca: "ca", key: "key"})
		}
		t.Certs, t.MintCA, t.MintKey, t.CertFile, t.KeyFile = m, ca, key, "", ""
	}

	if v, ok := f["ca_file"]; ok {
		s, err := b.nonEmpty(v, join(path, "ca_file"))
		if err != nil {
			return err
		}
		t.Verify.CAFile = scriptPath(b.file, s)
	}
	if v, ok := f["pins"]; ok {
		p := join(path, "pins")
		pins, err := b.strings(v, p)
		if err != nil {
			return err
		}
		if len(pins) == 0 {
			return b.errAt(v, p, "must not be empty (leave the key out unless verify: pin)")
		}
		nodes, _ := b.list(v, p)
		for i, s := range pins {
			if s == "" {
				return b.errAt(nodes[i], index(p, i), "must not be empty")
			}
		}
		t.Verify.Pins = pins
	}
	if err := b.verify(f, n, path, t.Verify); err != nil {
		return err
	}

	if v, ok := f["client"]; ok && t.Client != policy.TLSRefused && t.Certs == nil {
		return b.errAt(v, join(path, "client"), "client TLS needs certificate or mint")
	}
	return nil
}

// enum decodes the string at key of f, when present, into dst; it must be one of set.
func enum[T ~string](b *builder, f map[string]*yaml.Node, path, key string, dst *T, set []T) error {
	v, ok := f[key]
	if !ok {
		return nil
	}
	s, err := b.str(v, join(path, key))
	if err != nil {
		return err
	}
	if !slices.Contains(set, T(s)) {
		names := make([]string, len(set))
		for i, x := range set {
			names[i] = string(x)
		}
		return b.errAt(v, join(path, key), "unknown value %q (%s)", s, strings.Join(names, ", "))
	}
	*dst = T(s)
	return nil
}

// nonEmpty decodes a string that must not be empty.
func (b *builder) nonEmpty(n *yaml.Node, path string) (string, error) {
	s, err := b.str(n, path)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", b.errAt(n, path, "must not be empty")
	}
	return s, nil
}

// filePair decodes a mapping of exactly two required file names, such as {cert:, key:},
// and resolves them relative to the configuration file.
func (b *builder) filePair(n *yaml.Node, path, first, second string) (string, string, error) {
	f, err := b.fields(n, path, first, second)
	if err != nil {
		return "", "", err
	}
	var out [2]string
	for i, key := range []string{first, second} {
		v, ok := f[key]
		if !ok {
			return "", "", b.errAt(n, join(path, key), "required")
		}
		s, err := b.nonEmpty(v, join(path, key))
		if err != nil {
			return "", "", err
		}
		out[i] = scriptPath(b.file, s)
	}
	return out[0], out[1], nil
}

// loadError reports a failure to load a certificate or CA. A file that cannot be read is
// named at its own key (keys maps file names to keys); anything else, such as a key that
// does not match its certificate, at the mapping. The error is not wrapped: errors.Is(err,
// fs.ErrNotExist) on a Load error must mean that the configuration file itself is absent.
func (b *builder) loadError(n *yaml.Node, path string, err error, keys map[string]string) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		if key, ok := keys[pe.Path]; ok {
			return b.errAt(keyValue(n, key), join(path, key), "%v", pe)
		}
	}
	return b.errAt(n, path, "%s", tlsMessage(err))
}

// verify checks that the verification keys fit together and hands what they say to
// ftptls for the checks of their content (pin syntax, the CA bundle).
func (b *builder) verify(f map[string]*yaml.Node, n *yaml.Node, path string, v policy.TLSVerify) error {
	mode := v.Mode
	if mode == "" {
		mode = ftptls.ModeSystem
	}
	at, atPath := f["verify"], join(path, "verify")
	if at == nil {
		at = n
	}
	switch {
	case mode == ftptls.ModeCA && v.CAFile == "":
		return b.errAt(at, atPath, "ca needs ca_file")
	case mode == ftptls.ModePin && len(v.Pins) == 0:
		return b.errAt(at, atPath, "pin needs pins")
	}
	if c, ok := f["ca_file"]; ok && mode != ftptls.ModeCA {
		return b.errAt(c, join(path, "ca_file"), "only for verify: ca")
	}
	if p, ok := f["pins"]; ok && mode != ftptls.ModePin {
		return b.errAt(p, join(path, "pins"), "only for verify: pin")
	}
	if mode == ftptls.ModePin {
		// One pin at a time, to name the bad one.
		nodes, _ := b.list(f["pins"], join(path, "pins"))
		for i, pin := range v.Pins {
			if err := (ftptls.Verify{Mode: mode, Pins: []string{pin}}).Validate(); err != nil {
				return b.errAt(nodes[i], index(join(path, "pins"), i), "%s", tlsMessage(err))
			}
		}
	}
	err := ftptls.Verify{Mode: mode, CAFile: v.CAFile, Pins: v.Pins}.Validate()
	if err == nil {
		return nil
	}
	switch mode {
	case ftptls.ModeCA:
		at, atPath = f["ca_file"], join(path, "ca_file")
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return b.errAt(at, atPath, "%v", pe)
		}
	case ftptls.ModePin:
		at, atPath = f["pins"], join(path, "pins")
	}
	return b.errAt(at, atPath, "%s", tlsMessage(err))
}

// tlsMessage returns the text of an ftptls error without the package's "ftptls: " and
// "verify: " prefixes, which the key path in front of it makes redundant.
func tlsMessage(err error) string {
	return strings.TrimPrefix(strings.ReplaceAll(err.Error(), "ftptls: ", ""), "verify: ")
}

// keyValue returns the value under key in the mapping n, or n itself when there is none.
func keyValue(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if resolve(n.Content[i]).Value == key {
				return resolve(n.Content[i+1])
			}
		}
	}
	return n
}

// describeTLS formats a policy's TLS settings for Describe, e.g.
// "client optional (certificate /etc/ftpgate/server.crt)  server optional  verify system".
func describeTLS(t policy.TLSPolicy) string {
	d := t.WithDefaults()
	var b strings.Builder
	b.WriteString("client " + string(d.Client))
	switch {
	case d.CertFile != "":
		b.WriteString(" (certificate " + d.CertFile + ")")
	case d.MintCA != "":
		b.WriteString(" (mint " + d.MintCA + ")")
	case d.Certs != nil:
		b.WriteString(" (certificates set)")
	}
	b.WriteString("  server " + string(d.Server) + "  verify " + string(d.Verify.Mode))
	switch d.Verify.Mode {
	case ftptls.ModeCA:
		b.WriteString(" (ca_file " + d.Verify.CAFile + ")")
	case ftptls.ModePin:
		b.WriteString(" (pins " + strings.Join(d.Verify.Pins, ", ") + ")")
	}
	if d.AllowCCC {
		b.WriteString("  ccc allowed")
	}
	return b.String()
}
