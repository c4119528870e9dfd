package ftp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/ftpgate/ftpgate/wire"

	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/metrics"
	"github.com/ftpgate/ftpgate/policy"
)

// TLSConfig says where a session decodes FTPS (RFC 4217). ftpgate terminates TLS on each leg
// it protects: toward the client it is the TLS server, toward the server the TLS client.
type TLSConfig struct {
	// TLSPolicy says per leg whether TLS is optional, required or refused, which
	// certificates face the client and how the server is verified (defaults filled in).
	policy.TLSPolicy
	// Implicit: both legs are TLS from the first byte (port 990).
	Implicit bool
}

// tlsState is a session's TLS, guarded by s.mu.
type tlsState struct {
	client, server         *tls.Conn // the control legs, once upgraded
	clientProt, serverProt bool      // PROT P per leg: data connections are TLS
	clientConf, serverConf *tls.Config
	clientDataConf         *tls.Config // the client leg's data connections: bound to clientConf's sessions
	clientProtAsked        bool        // the client asked for PROT P at some time (data_protection sticky)
	bridge                 bool        // the client leg is TLS while the server leg stays plain
	crec                   *recordConn // under the client leg's TLS, for CCC
	cleared                bool        // the client cleared its control connection (CCC)
}

// serverRequired reports whether policy requires TLS on the server leg of an explicit-FTPS
// session: ftpgate then negotiates it right after the greeting.
func (t *TLSConfig) serverRequired() bool {
	return t != nil && t.Server == policy.TLSRequired && !t.Implicit
}

// clientOK reports whether the client leg may use TLS.
func (t *TLSConfig) clientOK() bool {
	return t != nil && t.Certs != nil && t.Client != policy.TLSRefused
}

// tlsLegs returns whether each control leg is TLS now.
func (s *Session) tlsLegs() (client, server bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tls.client != nil, s.tls.server != nil
}

// serverTLSConfig is the TLS client configuration of the server leg, made once per session:
// the control connection and every data connection use the same name and session cache, so
// data connections resume the control connection's session (vsftpd's require_ssl_reuse).
func (s *Session) serverTLSConfig() (*tls.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tls.serverConf == nil {
		conf, err := s.cfg.TLS.Verify.ClientConfig(s.serverAddr.Addr().String(), tls.NewLRUClientSessionCache(8))
		if err != nil {
			return nil, err
		}
		s.tls.serverConf = conf
	}
	return s.tls.serverConf, nil
}

// clientTLSConfig is the TLS server configuration of the client leg, made once per session
// so that clients resume their control session on data connections.
func (s *Session) clientTLSConfig() *tls.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tls.clientConf == nil {
		upstream := func() *x509.Certificate {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.tls.server == nil {
				return nil
			}
			if certs := s.tls.server.ConnectionState().PeerCertificates; len(certs) > 0 {
				return certs[0]
			}
			return nil
		}
		s.tls.clientConf = ftptls.ServerConfig(s.cfg.TLS.Certs, s.serverAddr.Addr(), upstream)
		s.tls.clientDataConf = ftptls.BindDataSessions(s.tls.clientConf)
	}
	return s.tls.clientConf
}

// clientDataTLSConfig is the TLS server configuration of the client leg's data connections:
// it resumes only the control connection's TLS session (ftptls.BindDataSessions).
func (s *Session) clientDataTLSConfig() *tls.Config {
	s.clientTLSConfig()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tls.clientDataConf
}

// upgradeServer turns the server leg into TLS after its 234 (or at once, for implicit FTPS).
// It runs on the reply loop's goroutine, which owns s.rr.
func (s *Session) upgradeServer(ctx context.Context) error {
	if s.rr.Buffered() > 0 {
		return errors.New("ftp: the server sent data before the TLS handshake")
	}
	conf, err := s.serverTLSConfig()
	if err != nil {
		return err
	}
	tc := tls.Client(s.server, conf)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	err = tc.HandshakeContext(hctx)
	s.countHandshake(metrics.LegServer, metrics.ConnControl, err)
	if err != nil {
		return fmt.Errorf("ftp: TLS toward the server: %w", err)
	}
	s.sw.Lock()
	s.sio = tc
	s.sw.Unlock()
	s.rr = wire.NewReplyReader(tc, s.cfg.MaxLine, s.cfg.MaxReplyLines)
	s.mu.Lock()
	s.tls.server = tc
	s.mu.Unlock()
	v, c := ftptls.Describe(tc.ConnectionState())
	s.log.Info("TLS on the server leg", "version", v, "cipher", c)
	return nil
}

// upgradeClient turns the client leg into TLS after ftpgate sent it 234 (or at once, for
// implicit FTPS). It runs on the command loop's goroutine, which owns s.lr.
func (s *Session) upgradeClient(ctx context.Context) error {
	if s.lr.Buffered() > 0 {
		return errors.New("ftp: the client sent data after AUTH before the TLS handshake")
	}
	rec := newRecordConn(s.client)
	tc := tls.Server(rec, s.clientTLSConfig())
	hctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	err := tc.HandshakeContext(hctx)
	s.countHandshake(metrics.LegClient, metrics.ConnControl, err)
	if err != nil {
		return fmt.Errorf("ftp: TLS toward the client: %w", err)
	}
	s.cw.Lock()
	s.cio = tc
	s.cw.Unlock()
	s.lr = wire.NewLineReader(tc, s.cfg.MaxLine)
	s.mu.Lock()
	s.tls.client, s.tls.crec = tc, rec
	s.mu.Unlock()
	s.setTLS(true)
	v, c := ftptls.Describe(tc.ConnectionState())
	s.log.Info("TLS on the client leg", "version", v, "cipher", c, "sni", tc.ConnectionState().ServerName)
	return nil
}

// implicitTLS protects both legs from the first byte: the server leg first, so that a
// minted certificate can copy the server's names.
func (s *Session) implicitTLS(ctx context.Context) error {
	if err := s.upgradeServer(ctx); err != nil {
		s.log.Warn("implicit FTPS: TLS toward the server failed; closing", "err", err.Error())
		return err
	}
	if !s.cfg.TLS.clientOK() {
		return errors.New("ftp: implicit FTPS needs a certificate toward the client")
	}
	return s.upgradeClient(ctx)
}

// countHandshake counts a TLS handshake on leg of conn (control, data), and the server
// certificate's failed verification that made it fail, if that is why.
func (s *Session) countHandshake(leg, conn string, err error) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	m.TLSHandshake(leg, conn, err)
	if r, ok := ftptls.VerifyReason(err); ok && leg == metrics.LegServer {
		m.VerifyFailure(r)
	}
}

// reason is the one-line text of a TLS error for a reply.
func reason(err error) string { return ftptls.Reason(err) }
