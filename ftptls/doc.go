// Package ftptls provides the TLS pieces of ftpgate's FTPS support: the certificates
// ftpgate presents to clients, the verification of upstream servers, and the tls.Config
// values for both legs of a session.
//
// ftpgate terminates TLS on both legs of a connection:
//
//   - Toward the client it is a TLS server. [Certs] supplies the certificate: [NewStatic]
//     and [LoadStatic] present the operator's own certificate for every connection, a
//     [Minter] ([NewMinter], [LoadMinter]) mints a leaf certificate per server name, signed
//     by a local CA the operator provides. [ServerConfig] builds the tls.Config.
//   - Toward the server it is a TLS client. [Verify] says how the server is checked
//     (system roots, a CA bundle, public-key pins, or not at all) and [Verify.ClientConfig]
//     builds the tls.Config.
//
// Session reuse: servers such as vsftpd with require_ssl_reuse=YES refuse a data
// connection whose TLS session does not resume the control connection's. Go's TLS client
// keys its session cache by tls.Config.ServerName, so the control and data connections of
// one FTP session must use configs built with the same name and the same
// tls.ClientSessionCache. Toward the client, the control and data connections must be
// served from one [ServerConfig] value (or clones of it), which shares its session ticket
// keys.
//
// A server certificate that fails verification fails the handshake with a [*VerifyError]
// naming the reason; [Reason] turns a failed handshake into the short text of a 431/534
// reply. [Describe] and [PinOf] format handshake and certificate facts for logs.
package ftptls
