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
	f, err := b.fields(n, path, "client", "server", "certificate", "mint", "verify", "ca_file", "pins", "ccc",
		"data_protection", "client_data_reuse")
	if err != nil {
		return err
	}
	if err := b.tlsModes(f, path, t); err != nil {
		return err
	}
	if err := b.tlsSources(f, path, t); err != nil {
		return err
	}
	if err := b.tlsVerifyKeys(f, path, &t.Verify); err != nil {
		return err
	}
	if err := b.verify(f, n, path, t.Verify); err != nil {
		return err
	}
	if v, ok := f["client"]; ok && t.Client != policy.TLSRefused && t.Certs == nil {
		return b.errAt(v, join(path, "client"), "client TLS needs certificate or mint")
	}
	return nil
}

// tlsModes decodes the scalar settings of a tls: mapping into t: ccc, then the client and
// server legs, data protection and reuse, and the verification mode.
func (b *builder) tlsModes(f map[string]*yaml.Node, path string, t *policy.TLSPolicy) error {
	if v, ok := f["ccc"]; ok {
		var err error
		if t.AllowCCC, err = b.boolean(v, join(path, "ccc")); err != nil {
			return err
		}
	}
	if err := enum(b, f, path, "client", &t.Client, policy.TLSLegs()); err != nil {
		return err
	}
	if err := enum(b, f, path, "server", &t.Server, policy.ServerTLSLegs()); err != nil {
		return err
	}
	if err := enum(b, f, path, "data_protection", &t.DataProtection, policy.DataProtections()); err != nil {
		return err
	}
	if err := enum(b, f, path, "client_data_reuse", &t.ClientDataReuse, policy.DataReuses()); err != nil {
		return err
	}
	return enum(b, f, path, "verify", &t.Verify.Mode, policy.VerifyModes())
}

// tlsSources decodes the certificate source toward clients, certificate: or mint: (which
// exclude each other), and loads it into t.
func (b *builder) tlsSources(f map[string]*yaml.Node, path string, t *policy.TLSPolicy) error {
	if v, ok := f["certificate"]; ok {
		if err := b.tlsCertificate(v, join(path, "certificate"), t); err != nil {
			return err
		}
	}
	if v, ok := f["mint"]; ok {
		p := join(path, "mint")
		if _, both := f["certificate"]; both {
			return b.errAt(v, p, "exclusive with certificate (set one of them)")
		}
		if err := b.tlsMint(v, p, t); err != nil {
			return err
		}
	}
	return nil
}

// tlsCertificate loads the static certificate named by the mapping {cert:, key:} at n into
// t, replacing any minting CA of the base.
func (b *builder) tlsCertificate(n *yaml.Node, path string, t *policy.TLSPolicy) error {
	cert, key, err := b.filePair(n, path, "cert", "key")
	if err != nil {
		return err
	}
	certs, err := ftptls.LoadStatic(cert, key)
	if err != nil {
		return b.loadError(n, path, err, map[string]string{cert: "cert", key: "key"})
	}
	t.Certs, t.CertFile, t.KeyFile, t.MintCA, t.MintKey = certs, cert, key, "", ""
	return nil
}

// tlsMint loads the minting CA named by the mapping {ca:, key:} at n into t, replacing any
// static certificate of the base.
func (b *builder) tlsMint(n *yaml.Node, path string, t *policy.TLSPolicy) error {
	ca, key, err := b.filePair(n, path, "ca", "key")
	if err != nil {
		return err
	}
	m, err := ftptls.LoadMinter(ca, key)
	if err != nil {
		return b.loadError(n, path, err, map[string]string{ca: "ca", key: "key"})
	}
	t.Certs, t.MintCA, t.MintKey, t.CertFile, t.KeyFile = m, ca, key, "", ""
	return nil
}

// tlsVerifyKeys decodes ca_file: and pins: into v; whether they fit the verification mode is
// left to verify.
func (b *builder) tlsVerifyKeys(f map[string]*yaml.Node, path string, v *policy.TLSVerify) error {
	if c, ok := f["ca_file"]; ok {
		s, err := b.nonEmpty(c, join(path, "ca_file"))
		if err != nil {
			return err
		}
		v.CAFile = scriptPath(b.file, s)
	}
	if p, ok := f["pins"]; ok {
		pins, err := b.pins(p, join(path, "pins"))
		if err != nil {
			return err
		}
		v.Pins = pins
	}
	return nil
}

// pins decodes the list of pins at n, which must be neither empty nor hold an empty pin.
func (b *builder) pins(n *yaml.Node, path string) ([]string, error) {
	pins, err := b.strings(n, path)
	if err != nil {
		return nil, err
	}
	if len(pins) == 0 {
		return nil, b.errAt(n, path, "must not be empty (leave the key out unless verify: pin)")
	}
	nodes, _ := b.list(n, path)
	for i, s := range pins {
		if s == "" {
			return nil, b.errAt(nodes[i], index(path, i), "must not be empty")
		}
	}
	return pins, nil
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
	mode := v.EffectiveMode()
	if err := b.verifyFit(f, n, path, mode, v); err != nil {
		return err
	}
	if mode == ftptls.ModePin {
		if err := b.verifyPins(f, path, v.Pins); err != nil {
			return err
		}
	}
	err := ftptls.Verify{Mode: mode, CAFile: v.CAFile, Pins: v.Pins}.Validate()
	if err == nil {
		return nil
	}
	return b.verifyError(f, n, path, mode, err)
}

// verifyAt returns the node and key path where a problem with the verification mode is
// reported: the verify: key, or the tls: mapping n when it has none.
func verifyAt(f map[string]*yaml.Node, n *yaml.Node, path string) (*yaml.Node, string) {
	at, atPath := f["verify"], join(path, "verify")
	if at == nil {
		at = n
	}
	return at, atPath
}

// verifyFit checks that the verification mode has the keys it needs (ca_file for ca, pins
// for pin) and that ca_file and pins are only set for their mode.
func (b *builder) verifyFit(f map[string]*yaml.Node, n *yaml.Node, path string, mode ftptls.VerifyMode, v policy.TLSVerify) error {
	at, atPath := verifyAt(f, n, path)
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
	return nil
}

// verifyPins validates the pins one at a time, to name the bad one.
func (b *builder) verifyPins(f map[string]*yaml.Node, path string, pins []string) error {
	nodes, _ := b.list(f["pins"], join(path, "pins"))
	for i, pin := range pins {
		if err := (ftptls.Verify{Mode: ftptls.ModePin, Pins: []string{pin}}).Validate(); err != nil {
			return b.errAt(nodes[i], index(join(path, "pins"), i), "%s", tlsMessage(err))
		}
	}
	return nil
}

// verifyError reports err, ftptls's verdict on the verification settings, at the key it is
// about: ca_file for ca (naming an unreadable file as such), pins for pin, verify otherwise.
func (b *builder) verifyError(f map[string]*yaml.Node, n *yaml.Node, path string, mode ftptls.VerifyMode, err error) error {
	at, atPath := verifyAt(f, n, path)
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

// describeTLSData formats a policy's data connection TLS settings for Describe, e.g.
// "data_protection sticky  client_data_reuse required".
func describeTLSData(t policy.TLSPolicy) string {
	d := t.WithDefaults()
	return "data_protection " + string(d.DataProtection) + "  client_data_reuse " + string(d.ClientDataReuse)
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
