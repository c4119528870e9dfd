package ftptls

import (
	"crypto/tls"
	"fmt"
)

// Describe returns the protocol version ("TLS1.3", "TLS1.2", …) and the cipher suite
// name (e.g. "TLS_AES_128_GCM_SHA256") of a finished handshake, for logs and transfer
// records. Both are empty when the handshake has not completed.
func Describe(cs tls.ConnectionState) (version, cipher string) {
	if !cs.HandshakeComplete {
		return "", ""
	}
	switch cs.Version {
	case tls.VersionTLS13:
		version = "TLS1.3"
	case tls.VersionTLS12:
		version = "TLS1.2"
	case tls.VersionTLS11:
		version = "TLS1.1"
	case tls.VersionTLS10:
		version = "TLS1.0"
	default:
		version = fmt.Sprintf("0x%04X", cs.Version)
	}
	return version, tls.CipherSuiteName(cs.CipherSuite)
}
