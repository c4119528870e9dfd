// Package wire is the FTP grammar, and nothing else: it reads and writes the bytes of the
// control connection and knows nothing of sockets, policies or the kernel. Every other
// package that needs to understand FTP uses it, so no parser exists twice.
//
//   - [LineReader] reads bounded CRLF lines and removes Telnet IAC sequences (RFC 854, as
//     RFC 959 requires for the control connection).
//   - [Command] and [ParseCommand] model one command line.
//   - [Reply], [NewReply] and [ReplyReader] model single- and multi-line replies (RFC 959 §4.2);
//     the reply codes ftpgate gives itself are named constants ([CodeSyntaxError] …).
//   - [ParsePORT], [ParsePASVReply], [ParseEPRT], [ParseEPSVReply], [ParseEPSVArg] and
//     [ParseREST] decode the data-channel arguments of RFC 959, RFC 1123, RFC 2428 and
//     RFC 3659; the Format functions encode them.
//   - [Lookup] is the one verb table: for every command it says whether it is known, may pass
//     before login or before TLS, opens a transfer (and which way the data flows), keeps a
//     pending REST, or carries an argument that must not be logged.
//
// Addresses found inside the protocol are parsed strictly but never trusted: callers compare
// them with the real addresses of the control connection.
//
// The control connection is a Telnet NVT stream in both directions: readers decode
// IAC IAC to a literal 0xFF byte, and [Command.Bytes] and [Reply.Bytes] encode 0xFF back as
// IAC IAC, so decoding and encoding are inverse operations.
package wire
