// Package config reads ftpgate's YAML configuration: the services that pick a policy by
// client network, server network and server port, and the named policies built from a
// preset and overridden entry by entry. Decoding is strict: an unknown key, a wrong type or
// a bad value is an *Error that names the file, the line and the key path, for example
//
//	ftpgate.yaml:14: policies.office-ro.commands.STOR.action: unknown action "rejct" (accept, reject, abort, change, policy)
//
// Every policy a Config holds is built, validated and ready to be shared read-only by the
// sessions that use it; a reload builds a new Config.
package config
