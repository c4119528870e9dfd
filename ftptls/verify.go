package ftptls

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
)

// VerifyMode is how [Verify] checks a server's certificate.
type VerifyMode string

// Verification modes of [Verify].
const (
	// ModeSystem checks the chain against the system roots and the name.
	ModeSystem VerifyMode = "system"
	// ModeCA checks the chain against a CA bundle only and the name.
	ModeCA VerifyMode = "ca"
	// ModePin checks only that the leaf's public key matches a pin.
	ModePin VerifyMode = "pin"
	// ModeInsecure accepts any certificate, self-signed ones included.
	ModeInsecure VerifyMode = "insecure"
)

// Verify says how ftpgate verifies a server's certificate on a server leg.
type Verify struct {
	// Mode is system (the default when empty), ca, pin or insecure.
	Mode VerifyMode
	// CAFile is the PEM bundle of trusted roots for mode "ca".
	CAFile string
	// Pins are the accepted public keys for mode "pin": the SHA-256 of the
	// SubjectPublicKeyInfo, as "sha256/BASE64" (HPKP style, see [PinOf]) or 64 hex
	// digits. Any match passes.
	Pins []string
}

// EffectiveMode returns the mode, system when none is set: the one place that default lives.
func (v Verify) EffectiveMode() VerifyMode {
	if v.Mode == "" {
		return ModeSystem
	}
	return v.Mode
}

// Validate checks the settings: a known mode, a readable CA bundle with at least one
// certificate for "ca", at least one well-formed pin for "pin", and no CAFile or Pins
// given to a mode that would ignore them.
func (v Verify) Validate() error {
	_, err := v.compile()
	return err
}

// compiled is a validated Verify, ready for a tls.Config.
type compiled struct {
	mode  VerifyMode
	roots *x509.CertPool
	pins  [][sha256.Size]byte
}

// compile validates v and loads what its mode needs.
func (v Verify) compile() (compiled, error) {
	c := compiled{mode: v.EffectiveMode()}
	switch c.mode {
	case ModeSystem, ModeCA, ModePin, ModeInsecure:
	default:
		return c, fmt.Errorf("ftptls: verify: unknown mode %q (want system, ca, pin or insecure)", v.Mode)
	}
	if v.CAFile != "" && c.mode != ModeCA {
		return c, fmt.Errorf("ftptls: verify: a CA file is only used in mode ca, not %s", c.mode)
	}
	if len(v.Pins) > 0 && c.mode != ModePin {
		return c, fmt.Errorf("ftptls: verify: pins are only used in mode pin, not %s", c.mode)
	}
	switch c.mode {
	case ModeCA:
		if v.CAFile == "" {
			return c, errors.New("ftptls: verify: mode ca needs a CA file")
		}
		certs, err := readCertificates(v.CAFile)
		if err != nil {
			return c, fmt.Errorf("ftptls: verify: %w", err)
		}
		c.roots = x509.NewCertPool()
		for _, cert := range certs {
			c.roots.AddCert(cert)
		}
	case ModePin:
		if len(v.Pins) == 0 {
			return c, errors.New("ftptls: verify: mode pin needs at least one pin")
		}
		for _, p := range v.Pins {
			sum, err := parsePin(p)
			if err != nil {
				return c, fmt.Errorf("ftptls: verify: %w", err)
			}
			c.pins = append(c.pins, sum)
		}
	}
	return c, nil
}
