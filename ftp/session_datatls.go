package ftp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/ftpgate/ftpgate/datachan"
	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"
)

// dataTLSError is why ftpgate refused a data connection's TLS: the channel closes with it,
// and the client gets reply as the transfer's final reply, whatever the server answered.
type dataTLSError struct {
	reply wire.Reply
	err   error
}

func (e *dataTLSError) Error() string { return e.err.Error() }
func (e *dataTLSError) Unwrap() error { return e.err }

// refuseData makes the dataTLSError of a data connection refused with code and text.
func refuseData(code int, text string, err error) *dataTLSError {
	return &dataTLSError{reply: wire.NewReply(code, text), err: err}
}

// Secure wraps a data connection of a protected leg in TLS (datachan.Peer).
//
// Toward the client ftpgate is the TLS server, with a configuration that resumes only the
// control connection's TLS session: a data connection that does not resume it (another
// program on the client's address, or a client that cannot resume) is refused with 522
// unless the policy's client_data_reuse is optional. Toward the server ftpgate is the TLS
// client resuming the control connection's session, and the server's certificate must be
// the control connection's (the same leaf or the same public key), whatever the verify
// mode: a server that presents another one is refused with 425. A handshake that fails or
// times out is refused with 425. Each refusal ends that transfer, never the session.
func (s *Session) Secure(ctx context.Context, sd datachan.Side, c *net.TCPConn) (net.Conn, datachan.TLSInfo, error) {
	hctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	if sd == datachan.ClientLeg {
		return s.secureClientData(hctx, c)
	}
	return s.secureServerData(hctx, c)
}

// secureClientData is Secure for the client leg.
func (s *Session) secureClientData(ctx context.Context, c *net.TCPConn) (net.Conn, datachan.TLSInfo, error) {
	tc := tls.Server(c, s.clientDataTLSConfig())
	err := tc.HandshakeContext(ctx)
	s.countHandshake(metrics.LegClient, metrics.ConnData, err)
	if err != nil {
		return nil, datachan.TLSInfo{}, refuseData(wire.CodeCannotOpenData, "Cannot open data connection: TLS handshake failed.",
			fmt.Errorf("ftp: TLS on the client's data connection: %w", err))
	}
	st := tc.ConnectionState()
	if !st.DidResume {
		if s.cfg.TLS.ClientDataReuse != policy.ReuseOptional {
			s.log.Warn("data connection refused: its TLS session does not resume the control connection's (client_data_reuse: required)",
				"src", c.RemoteAddr().String())
			return nil, datachan.TLSInfo{}, refuseData(wire.CodeDataTLSRefused,
				"Data connection refused: its TLS session must resume the control connection's (session reuse required).",
				errors.New("ftp: the client's data connection does not resume the control connection's TLS session"))
		}
		s.log.Debug("client data connection did not resume the control TLS session (client_data_reuse: optional)")
	}
	return tc, describe(st), nil
}

// secureServerData is Secure for the server leg.
func (s *Session) secureServerData(ctx context.Context, c *net.TCPConn) (net.Conn, datachan.TLSInfo, error) {
	conf, err := s.serverTLSConfig()
	if err != nil {
		return nil, datachan.TLSInfo{}, refuseData(wire.CodeCannotOpenData, "Cannot open data connection: "+reason(err), err)
	}
	tc := tls.Client(c, conf)
	err = tc.HandshakeContext(ctx)
	s.countHandshake(metrics.LegServer, metrics.ConnData, err)
	if err != nil {
		return nil, datachan.TLSInfo{}, refuseData(wire.CodeCannotOpenData, "Cannot open data connection: TLS toward the server failed: "+reason(err),
			fmt.Errorf("ftp: TLS on the server's data connection: %w", err))
	}
	st := tc.ConnectionState()
	if err := s.sameServer(st); err != nil {
		s.log.Warn("data connection refused: the server's certificate differs from the control connection's", "err", err.Error())
		return nil, datachan.TLSInfo{}, refuseData(wire.CodeCannotOpenData,
			"Cannot open data connection: the server's certificate differs from its control connection's.", err)
	}
	if !st.DidResume {
		s.log.Debug("server data connection did not resume the control TLS session")
	}
	return tc, describe(st), nil
}

// sameServer checks that a data connection's server certificate is the control
// connection's: the same leaf, or the same public key (a renewed certificate).
func (s *Session) sameServer(data tls.ConnectionState) error {
	s.mu.Lock()
	ctl := s.tls.server
	s.mu.Unlock()
	if ctl == nil {
		return errors.New("ftp: a TLS data connection toward the server without TLS on its control connection")
	}
	want, got := ctl.ConnectionState().PeerCertificates, data.PeerCertificates
	switch {
	case len(want) == 0 || len(got) == 0:
		return errors.New("ftp: no server certificate to compare")
	case bytes.Equal(want[0].Raw, got[0].Raw), bytes.Equal(want[0].RawSubjectPublicKeyInfo, got[0].RawSubjectPublicKeyInfo):
		return nil
	}
	return fmt.Errorf("ftp: data connection certificate %q (key %s), control connection certificate %q (key %s)",
		got[0].Subject.String(), ftptls.PinOf(got[0]), want[0].Subject.String(), ftptls.PinOf(want[0]))
}

// describe is the record's view of a data connection's TLS.
func describe(st tls.ConnectionState) datachan.TLSInfo {
	v, c := ftptls.Describe(st)
	return datachan.TLSInfo{Desc: v + " " + c, Resumed: st.DidResume}
}

// dataRefusal returns the reply that replaces x's final reply when ftpgate refused its data
// connection's TLS.
func dataRefusal(x *transfer) (wire.Reply, bool) {
	if x == nil || x.data == nil {
		return wire.Reply{}, false
	}
	var de *dataTLSError
	res := x.data.Result()
	if errors.As(res.Err, &de) {
		return de.reply, true
	}
	return inspectionRefusal(res)
}
