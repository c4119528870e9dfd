// Package policy is ftpgate's policy engine, after the Zorp FTP proxy: a table of commands and
// a table of answers per policy, each entry an action (accept, reject, abort, change, or a
// callback), presets to start from, limits, per-command argument checks and a per-session
// state machine. It is pure logic: no I/O, no clock, no network.
//
// A policy's settings (data_mode, pasv_address, server_address, active_source_port, the TLS
// legs and verification) are typed enumerations with their defaults in one place
// ([DataPolicy.WithDefaults], [TLSPolicy.WithDefaults]), validated once when the
// configuration loads.
//
// A [Session] is one control connection's view of its policy, and the one owner of the
// session's protocol state: the login and its user, a pending rename, the restart offset,
// whether the control connection is protected. [Unfiltered] tracks that state for a session
// without a policy. [Replay] runs a transcript through a session, for `ftpgate policy test`.
//
// The FTP grammar comes from package wire (one parser for the engine and the session); the
// TLS verification settings are ftptls's own.
//
// Subpackages: script runs Starlark callbacks; config reads the YAML configuration that
// names services and policies.
package policy
