// Package ftptest provides a scripted FTP server on loopback for unit tests of the session
// logic. It is a test helper only; real servers are used end to end.
package ftptest
