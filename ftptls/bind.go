package ftptls

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"slices"
)

// bindPrefix starts the tag an FTP session's control connection puts into its session tickets.
const bindPrefix = "ftpgate-control:"

// BindDataSessions binds the data connections of one FTP session to its control connection,
// on the client leg, where ftpgate is the TLS server. It changes control, the session's
// TLS server configuration (from [ServerConfig]), so that every session ticket its
// connections issue carries a random tag of this FTP session, and returns the configuration
// for the session's data connections, which:
//   - resumes only tickets carrying the tag: tickets of the control connection, or of a data
//     connection that itself resumed one (TLS 1.2 session tickets and TLS 1.3 PSKs alike);
//   - tags the tickets it issues only on a connection that resumed.
//
// So a data connection resumes (ConnectionState.DidResume) only if the client that makes it
// holds the control connection's TLS session; a second party on the client's address (behind
// the same NAT) that makes a fresh handshake does not, not even with a ticket it got from an
// earlier fresh handshake of its own. The ticket keys, random per [ServerConfig], already
// keep other FTP sessions' tickets out. Go's TLS server has no session-ID cache, so a client
// that resumes only by TLS 1.2 session ID never resumes.
func BindDataSessions(control *tls.Config) (data *tls.Config) {
	var r [16]byte
	rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
	tag := append([]byte(bindPrefix), r[:]...)
	tagged := func(ss *tls.SessionState) bool {
		return slices.ContainsFunc(ss.Extra, func(e []byte) bool { return bytes.Equal(e, tag) })
	}
	control.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, tag)
		return control.EncryptTicket(cs, ss)
	}
	data = control.Clone()
	data.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		if cs.DidResume && !tagged(ss) {
			ss.Extra = append(ss.Extra, tag)
		}
		return control.EncryptTicket(cs, ss)
	}
	data.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := control.DecryptTicket(identity, cs)
		if err != nil || ss == nil || !tagged(ss) {
			return nil, nil // a full handshake: the connection does not resume
		}
		return ss, nil
	}
	return data
}
