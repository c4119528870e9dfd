// Package e2e holds ftpgate's end-to-end tests: the real binary in a gateway network
// namespace between a real client (curl, lftp, Python ftplib) and a real server (vsftpd),
// with real nftables and TPROXY. They run whenever the user is root.
package e2e
