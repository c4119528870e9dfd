// Package kpath is ftpgate's kernel data path: it opens the pinhole of a plain data channel
// in the kernel's forward path, so that the channel's bytes never enter ftpgate, and reads
// back what the kernel saw of the connection.
//
// A pinhole is a conntrack expectation: exact (source address, destination address and
// port; any source port), one connection, with its own timeout. The expected connection is
// `ct state related`, so the box's usual forward rule `ct state established,related accept`
// lets it pass while the forward policy drops everything else. The kernel creates
// expectations only for a master connection that has a conntrack helper, so each pinhole
// hangs off a master of its own that ftpgate creates over ctnetlink with the "ftp" helper:
// a connection entry whose tuple (source port 0) no real packet carries, so the helper never
// parses anything (ftpgate's table drops TCP port 0 before conntrack sees it). The helper's
// limit of one expectation per master, and the master's deletion, supersede a pinhole.
//
// Every master carries a connection mark of its own (Config.Mark, Config.Mask) that the
// expected connection inherits, so its byte counters (nf_conntrack_acct, switched on by
// Setup) and its TCP state are found by that mark alone. Cut (ABOR) changes a connection's
// mark to nft.CutMark, which ftpgate's cut chain answers with TCP resets.
//
// [Conntrack] is the netlink implementation; [Fake] records calls for unit tests.
package kpath
