// Package control is ftpgate's control socket: a unix stream socket on which the running
// daemon answers `ftpgate sessions`, `ftpgate sessions kill`, `ftpgate status` and
// `ftpgate reload`.
//
// The protocol is one JSON request line and one JSON response line per connection, both
// carrying the protocol version in "v" ([Version]):
//
//	{"v":1,"cmd":"sessions"}
//	{"v":1,"cmd":"kill","id":42}
//	{"v":1,"cmd":"status"}
//	{"v":1,"cmd":"reload"}
//
// The response has "ok" and, when it is false, "error"; else the command's field
// ("sessions", "status" or "message"). A request is at most [MaxRequest] bytes and must
// arrive within [ReadTimeout]; anything else gets an error response, never a crash.
//
// Who may connect is the socket's business: it is mode 0660, owned by root and by the
// group ftpgate when that group exists, in a directory of mode 0750.
package control
