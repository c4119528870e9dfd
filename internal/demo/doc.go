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
// With -bench (make bench) it compares paths through the gateway namespace on the same
// topology — plain forwarding, forwarding with the kernel's conntrack FTP helper, ftpgate's
// proxied and kernel data paths, FTPS through ftpgate and FTPS forwarded — in runs
// interleaved path by path: RETR and STOR throughput of a large file (-size, -runs), NOOP
// round trips, logins per second, CPU per GiB and ftpgate's memory per idle session
// (-sessions). Rows relative to the proxied path measure the cost of looking at the bytes:
// the SHA-256 of every transfer (sha256), an observing exec hook (observe: sha256sum gets
// every object once it passed) and store-and-forward inspection over ICAP (icap: c-icap with
// clamd, started in the server namespace, scans every object before it goes on); the last two
// measure transfers only. -rows and -measure select rows and measurements. It prints one table (aligned text and Markdown) and writes a PNG chart of the
// throughput ratios (-chart). It reports numbers and never judges them.
//
// Everything it creates — namespaces, processes, the temporary directory — is removed at the
// end, also on failure and on Ctrl-C. It needs root.
package main
