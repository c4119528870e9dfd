package ftptls

import (
	"crypto/x509"
	"errors"
	"strings"
	"time"
)

// Reasons a server certificate fails verification, as [VerifyError] and [Reason] give them.
const (
	ReasonUnknownAuthority = "unknown authority"
	ReasonNameMismatch     = "name mismatch"
	ReasonExpired          = "expired"
	ReasonNotYetValid      = "not yet valid"
	ReasonPinMismatch      = "pin mismatch"
	ReasonNoCertificate    = "no certificate"
	ReasonInvalid          = "invalid certificate"
	ReasonNoSystemRoots    = "no system roots"
)

// VerifyError is the error of a server certificate that failed verification.
type VerifyError struct {
	// Name is the server name the certificate was checked against.
	Name string
	// Reason is one of the Reason constants.
	Reason string
	// Err is the underlying error, e.g. an x509.UnknownAuthorityError.
	Err error
}

// Error returns "ftptls: verify server NAME: REASON: DETAIL".
func (e *VerifyError) Error() string {
	return "ftptls: verify server " + e.Name + ": " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *VerifyError) Unwrap() error { return e.Err }

// Reason returns a short, single-line reason for a failed server-leg handshake, fit for
// the text of a 431/534 reply: the Reason of a [*VerifyError] (also the x509 errors of
// Go's own verification are classified the same way), else the error's text. The full
// error belongs in the log. Reason returns "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var verr *VerifyError
	if errors.As(err, &verr) {
		return verr.Reason
	}
	if r := classify(err); r != ReasonInvalid {
		return r
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error())
}

// VerifyReason returns the Reason constant of a server certificate that failed
// verification somewhere in err's chain (a [*VerifyError] or one of the x509 errors of Go's
// own verification), and false when err is no verification failure.
func VerifyReason(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var verr *VerifyError
	if errors.As(err, &verr) {
		return verr.Reason, true
	}
	if r := classify(err); r != ReasonInvalid {
		return r, true
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		return ReasonInvalid, true
	}
	return "", false
}

// classify maps an x509 verification error to a Reason constant, ReasonInvalid when it
// is none of the specific ones.
func classify(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		noRoots  x509.SystemRootsError
	)
	switch {
	case errors.As(err, &noRoots):
		return ReasonNoSystemRoots
	case errors.As(err, &unknown):
		return ReasonUnknownAuthority
	case errors.As(err, &hostname):
		return ReasonNameMismatch
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		if invalid.Cert != nil && time.Now().Before(invalid.Cert.NotBefore) {
			return ReasonNotYetValid
		}
		return ReasonExpired
	}
	return ReasonInvalid
}
