package ftptls

import (
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestReason checks the short reasons for errors not built by ClientConfig's checks.
func TestReason(t *testing.T) {
	future := &x509.Certificate{NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(2 * time.Hour)}
	past := &x509.Certificate{NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"verify error", fmt.Errorf("handshake: %w", &VerifyError{Name: "h", Reason: ReasonPinMismatch, Err: errors.New("x")}), ReasonPinMismatch},
		{"x509 unknown authority", fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), ReasonUnknownAuthority},
		{"x509 hostname", x509.HostnameError{Certificate: past, Host: "h"}, ReasonNameMismatch},
		{"x509 expired", x509.CertificateInvalidError{Cert: past, Reason: x509.Expired}, ReasonExpired},
		{"x509 not yet valid", x509.CertificateInvalidError{Cert: future, Reason: x509.Expired}, ReasonNotYetValid},
		{"no system roots", x509.SystemRootsError{}, ReasonNoSystemRoots},
		{"other error, multi-line", errors.New("connection reset\r\nby peer"), "connection reset  by peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reason(tt.err); got != tt.want {
				t.Errorf("Reason = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestVerifyReason: only verification failures have a reason for the metrics.
func TestVerifyReason(t *testing.T) {
	past := &x509.Certificate{NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}
	for _, tt := range []struct {
		err  error
		want string
		ok   bool
	}{
		{nil, "", false},
		{errors.New("connection reset by peer"), "", false},
		{fmt.Errorf("handshake: %w", &VerifyError{Name: "h", Reason: ReasonPinMismatch, Err: errors.New("x")}), ReasonPinMismatch, true},
		{fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), ReasonUnknownAuthority, true},
		{x509.CertificateInvalidError{Cert: past, Reason: x509.Expired}, ReasonExpired, true},
		{x509.CertificateInvalidError{Cert: past, Reason: x509.NotAuthorizedToSign}, ReasonInvalid, true},
	} {
		if got, ok := VerifyReason(tt.err); got != tt.want || ok != tt.ok {
			t.Errorf("VerifyReason(%v) = %q, %v, want %q, %v", tt.err, got, ok, tt.want, tt.ok)
		}
	}
}
