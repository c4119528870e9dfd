// Package policy is ftpgate's policy engine, after the Zorp FTP proxy: a table of commands and
// a table of answers per policy, each entry an action (accept, reject, abort, change, or a
// callback), presets to start from, limits, per-command argument checks and a per-session
// state machine. It is pure logic: no I/O, no clock, no network.
//
// Subpackages: script runs Starlark callbacks; config reads the YAML configuration that
// names services and policies.
package policy
