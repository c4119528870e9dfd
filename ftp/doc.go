// Package ftp implements the FTP control channel of ftpgate.
//
// The protocol layer in this package is pure: it reads and writes bytes and knows nothing
// about sockets, policies or nftables.
//
//   - [wire.LineReader] reads bounded CRLF lines and removes Telnet IAC sequences (RFC 854, as
//     RFC 959 requires for the control connection).
//   - [wire.Command] and [wire.ParseCommand] model one command line.
//   - [wire.Reply], [wire.NewReply] and [wire.ReplyReader] model single- and multi-line replies (RFC 959 §4.2).
//   - [wire.ParsePORT], [wire.ParsePASVReply], [wire.ParseEPRT], [wire.ParseEPSVReply] and their Format
//     counterparts encode and decode the data-channel addresses of RFC 959, RFC 1123 and
//     RFC 2428.
//
// Addresses found inside the protocol are parsed strictly but never trusted: callers compare
// them with the real addresses of the control connection.
//
// The control connection is a Telnet NVT stream in both directions: readers decode
// IAC IAC to a literal 0xFF byte, and [wire.Command.Bytes] and [wire.Reply.Bytes] encode 0xFF back as
// IAC IAC, so decoding and encoding are inverse operations.
package ftp
