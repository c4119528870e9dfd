// Package testbed builds throw-away network-namespace topologies for ftpgate's
// end-to-end tests, `make demo` and `make bench`.
//
// A Topology is three network namespaces joined by veth pairs:
//
//	client (198.51.100.2, .3; 2001:db8:1::2, ::3)
//	   |  198.51.100.0/24, 2001:db8:1::/64
//	gw     (198.51.100.1, 2001:db8:1::1 | 203.0.113.1, 2001:db8:2::1)
//	   |  203.0.113.0/24, 2001:db8:2::/64
//	server (203.0.113.2, 2001:db8:2::2)
//
// The gw namespace forwards IPv4 and IPv6, but unless Options.Forward is set
// its nftables table "inet tbfw" drops every forwarded packet, so only traffic
// terminated by a local (transparent) proxy on gw gets through.
//
// Everything is created with a random per-run name and removed again by
// t.Cleanup (New) or by the returned close function (NewForDemo): processes
// started with Start are stopped by PID first, then the namespaces are deleted.
// The root network namespace is never modified, and only documentation
// address ranges (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are used.
//
// StartVsftpd (or StartVsftpdWith, e.g. to announce a wrong 227 address),
// StartPureFTPd and StartProFTPd run an FTP server on port 21 of the server
// addresses, one server at a time, with a local user that exists only
// inside the server's private mount namespace. pure-ftpd and proftpd
// conflict with vsftpd in Debian: `make deps` unpacks them into CacheDir.
// StartProFTPd with ProOptions.DenyEPSV is the server that refuses EPSV.
//
// FTPS: NewPKI makes a test CA that issues server certificates (Issue),
// SelfSigned makes a self-signed one, and VsftpdOptions.TLS or
// PureOptions.TLS (TLSOptions) turn on explicit FTPS with them; vsftpd can
// also require TLS session reuse on data connections and serve implicit
// FTPS on ImplicitPort. Topology.FTPTLSScript is a Python FTPS client that
// can resume the control session on data connections.
//
// The helpers shell out to iproute2 (ip), nft, the FTP servers and sh; tests also use
// curl, lftp and python3. They need root: New skips the test otherwise.
package testbed
