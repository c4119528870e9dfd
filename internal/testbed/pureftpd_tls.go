package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// pureTLSArgs writes dir/tls.pem (certificate then key, as pure-ftpd's -2
// wants them) and returns the TLS options of a pure-ftpd listener.
func pureTLSArgs(o *TLSOptions, dir string) ([]string, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.RequireReuse || o.Implicit {
		return nil, errors.New("TLS RequireReuse and Implicit are vsftpd-only")
	}
	cert, err := os.ReadFile(o.CertFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	key, err := os.ReadFile(o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	pem := filepath.Join(dir, "tls.pem")
	if err := os.WriteFile(pem, append(append(cert, '\n'), key...), 0o600); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	level := "1" // TLS optional
	if o.ForceTLS {
		level = "2" // cleartext sessions refused
	}
	return []string{"-Y", level, "-2", pem}, nil
}
