package ftptls

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// pinPrefix starts a pin in HPKP style: "sha256/" and the standard base64 of the
// SHA-256 of the certificate's SubjectPublicKeyInfo.
const pinPrefix = "sha256/"

// PinOf returns the "sha256/BASE64" pin of cert: the SHA-256 of its
// SubjectPublicKeyInfo, HPKP style, as [Verify] Pins accepts it.
func PinOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return pinPrefix + base64.StdEncoding.EncodeToString(sum[:])
}

// parsePin decodes a pin given as "sha256/BASE64" or as 64 hex digits.
func parsePin(pin string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	var raw []byte
	var err error
	if b64, ok := strings.CutPrefix(pin, pinPrefix); ok {
		raw, err = base64.StdEncoding.DecodeString(b64)
	} else if len(pin) == 2*sha256.Size {
		raw, err = hex.DecodeString(pin)
	} else {
		return sum, fmt.Errorf("ftptls: pin %q: want %sBASE64 or %d hex digits", pin, pinPrefix, 2*sha256.Size)
	}
	if err != nil {
		return sum, fmt.Errorf("ftptls: pin %q: %w", pin, err)
	}
	if len(raw) != sha256.Size {
		return sum, fmt.Errorf("ftptls: pin %q: %d bytes, want %d", pin, len(raw), sha256.Size)
	}
	copy(sum[:], raw)
	return sum, nil
}
