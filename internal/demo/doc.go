// Command demo is the program behind `make demo` and `make bench`.
//
// It builds a throw-away client/gateway/server network-namespace topology (package testbed),
// runs vsftpd in the server namespace and ftpgate in the gateway namespace, and moves real
// files from the client namespace with curl.
//
// Without flags (make demo) it downloads and uploads a file in every data mode — PASV, EPSV,
// PORT and EPRT over IPv4, EPSV and EPRT over IPv6 — compares the SHA-256 sums, shows the
// nftables table with a live expectation, prints the gateway's transfer records, checks that
// the stopped gateway left neither its table nor its fwmark rule behind, and ends with a
// one-line verdict (exit 0 on PASS, 1 on FAIL, 2 when it cannot run at all).
//
// With -bench (make bench) it measures RETR throughput of a large file through ftpgate and
// through plain kernel forwarding on the same topology, and prints the ratio.
//
// Everything it creates — namespaces, processes, the temporary directory — is removed at the
// end, also on failure and on Ctrl-C. It needs root.
package main
