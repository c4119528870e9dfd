package testbed

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// certValidity is how long test certificates are valid; NotBefore is an
// hour in the past to tolerate clock skew between namespaces (there is none,
// but a wrong RTC is common in VMs).
const certValidity = 7 * 24 * time.Hour

// PKI is a throw-away certificate authority for TLS tests. Keys are ECDSA
// P-256, which vsftpd 3.0.3 (rsa_cert_file/rsa_private_key_file despite the
// names), pure-ftpd and proftpd all load with OpenSSL 3.
type PKI struct {
	// Dir holds every file the PKI writes.
	Dir string
	// CACert and CAKey are the PEM files of the CA certificate and its key.
	// CACert is what a verifying client gets (curl --cacert, lftp
	// ssl:ca-file, Python cafile=).
	CACert, CAKey string
	// CAName is the CA certificate's subject common name, as clients print
	// it in "issuer:" lines.
	CAName string

	cert *x509.Certificate
	key  crypto.Signer
}

// NewPKI creates dir (if needed) and a new CA in it: ca.crt and ca.key,
// with the common name "ftpgate test CA <random>" so that two PKIs are told
// apart in transcripts.
func NewPKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: pki: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testbed: pki: %w", err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	name := "ftpgate test CA " + serial.Text(16)[:8]
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"ftpgate testbed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("testbed: pki: create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testbed: pki: %w", err)
	}
	p := &PKI{Dir: dir, CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		CAName: name, cert: cert, key: key}
	if err := writePair(p.CACert, p.CAKey, der, key); err != nil {
		return nil, err
	}
	return p, nil
}

// Issue creates a server certificate signed by the CA, with common name
// name and the given DNS and IP subject alternative names, and writes
// Dir/name.crt, Dir/name.key and Dir/name.pem (certificate then key, for
// servers that want one file, such as pure-ftpd's -2). It returns the
// certificate and key file names; CombinedPEM gives the third.
func (p *PKI) Issue(name string, dnsNames []string, ips []netip.Addr) (certFile, keyFile string, err error) {
	if err := checkCertName(name); err != nil {
		return "", "", err
	}
	return issue(p.Dir, name, dnsNames, ips, p.cert, p.key)
}

// SelfSigned creates a self-signed server certificate (its own issuer, not
// a CA) with common name name and the given IP addresses as SANs, and
// writes dir/name.crt, dir/name.key and dir/name.pem like Issue.
func SelfSigned(dir, name string, ips []netip.Addr) (certFile, keyFile string, err error) {
	if err := checkCertName(name); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("testbed: pki: %w", err)
	}
	return issue(dir, name, nil, ips, nil, nil)
}

// CombinedPEM is the certificate-plus-key file that Issue and SelfSigned
// write beside certFile.
func CombinedPEM(certFile string) string {
	return strings.TrimSuffix(certFile, ".crt") + ".pem"
}

// issue creates a leaf certificate signed by parent/parentKey, or
// self-signed when parent is nil.
func issue(dir, name string, dnsNames []string, ips []netip.Addr, parent *x509.Certificate, parentKey crypto.Signer) (string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("testbed: pki: %w", err)
	}
	serial, err := randSerial()
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"ftpgate testbed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.Unmap().AsSlice()))
	}
	signer := crypto.Signer(key)
	if parent == nil {
		parent = tmpl
	} else {
		signer = parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return "", "", fmt.Errorf("testbed: pki: issue %s: %w", name, err)
	}
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := writePair(certFile, keyFile, der, key); err != nil {
		return "", "", err
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return "", "", fmt.Errorf("testbed: pki: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return "", "", fmt.Errorf("testbed: pki: %w", err)
	}
	if err := os.WriteFile(CombinedPEM(certFile), append(certPEM, keyPEM...), 0o600); err != nil {
		return "", "", fmt.Errorf("testbed: pki: %w", err)
	}
	return certFile, keyFile, nil
}

// writePair writes a DER certificate and its key as PEM files (the key in
// PKCS#8, mode 0600).
func writePair(certFile, keyFile string, der []byte, key crypto.Signer) error {
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("testbed: pki: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("testbed: pki: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return fmt.Errorf("testbed: pki: %w", err)
	}
	return nil
}

// randSerial returns a random positive 64-bit serial number.
func randSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("testbed: pki: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// checkCertName refuses names that are not plain file names.
func checkCertName(name string) error {
	if name == "" || name == "ca" || strings.ContainsAny(name, `/\`) || name != filepath.Base(name) {
		return errors.New("testbed: pki: certificate name must be a plain file name other than \"ca\"")
	}
	return nil
}
