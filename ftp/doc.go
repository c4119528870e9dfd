// Package ftp runs the FTP control session of ftpgate: one [Session] per intercepted control
// connection, accepted by a [Server].
//
// A session relays the client's commands and the server's replies line by line (the grammar
// is package wire's), asks its policy session (package policy) about each of them, checks
// every address the protocol carries, negotiates the data channels (PASV, EPSV, PORT, EPRT,
// translated by data_mode) and asks package datachan to open them, decodes FTPS on either
// leg (package ftptls gives the TLS configurations; AUTH, PBSZ, PROT and CCC are handled
// here), and writes a record of every transfer when its final reply arrives.
//
// Two goroutines run a session: the command loop reads the client, the reply loop reads the
// server. Commands owed a reply wait in one queue, so that replies reach the client in
// command order, ftpgate's own replies included. No lock is held across network waits, TLS
// handshakes or netlink calls; the policy session is consulted under its own lock.
//
// The session is the datachan.Peer of its channels: it secures their TLS legs and learns when
// a channel's bytes have all moved.
package ftp
