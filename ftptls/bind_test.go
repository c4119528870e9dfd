package ftptls

import (
	"crypto/tls"
	"net"
	"net/netip"
	"testing"
)

// pipeHandshake runs a TLS handshake over an in-memory connection between a server with
// srv and a client with cli, then one byte from the server, so that a TLS 1.3 client takes
// in the session tickets that follow the handshake. It returns the server's state.
func pipeHandshake(t *testing.T, srv, cli *tls.Config) tls.ConnectionState {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	s := tls.Server(a, srv)
	go func() {
		err := s.Handshake()
		if err == nil {
			_, err = s.Write([]byte{1})
		}
		done <- err
	}()
	c := tls.Client(b, cli)
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	return s.ConnectionState()
}

// TestBindDataSessions: a data connection resumes only with the control connection's TLS
// session (or one resumed from it): a client with a fresh session cache (a second party on
// the client's address) never resumes, not even with the ticket its own fresh data
// handshake got; a client of another FTP session does not either. TLS 1.2 and 1.3.
func TestBindDataSessions(t *testing.T) {
	ca := newTestCA(t, "bind test CA")
	cert := ca.issue(t, leafSpec{cn: "ftp.test", ips: []string{"127.0.0.1"}})
	certs := NewStatic(cert)
	for name, version := range map[string]uint16{"TLS1.2": tls.VersionTLS12, "TLS1.3": tls.VersionTLS13} {
		t.Run(name, func(t *testing.T) {
			newFTPSession := func() (control, data *tls.Config) {
				control = ServerConfig(certs, netip.MustParseAddr("127.0.0.1"), nil)
				control.MaxVersion = version
				data = BindDataSessions(control)
				return control, data
			}
			control, data := newFTPSession()
			client := func() *tls.Config {
				return &tls.Config{RootCAs: ca.pool(), ServerName: "127.0.0.1", MaxVersion: version,
					ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			}
			real := client()
			if cs := pipeHandshake(t, control, real); cs.DidResume {
				t.Fatal("the control connection resumed from an empty cache")
			}
			for i := range 3 {
				if cs := pipeHandshake(t, data, real); !cs.DidResume {
					t.Fatalf("data connection %d of the control connection's client did not resume", i+1)
				}
			}
			thief := client()
			for i := range 2 {
				if cs := pipeHandshake(t, data, thief); cs.DidResume {
					t.Fatalf("data connection %d of a fresh client resumed", i+1)
				}
			}
			other := client()
			_, otherData := newFTPSession()
			pipeHandshake(t, control, other) // a ticket of the first FTP session...
			if cs := pipeHandshake(t, otherData, other); cs.DidResume {
				t.Fatal("a data connection of another FTP session resumed the first one's session")
			}
		})
	}
}
