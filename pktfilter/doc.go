// Package pktfilter judges, packet by packet, the data channels the kernel forwards (the
// kernel data path) that a policy puts under a packet filter: their pinhole's connection
// carries queue flags in its connection mark, ftpgate's queue chain sends its packets to an
// NFQUEUE queue, and ftpgate gives each one a verdict: accept, drop, accept rewritten (same
// length, checksums fixed), or stop the whole transfer.
//
// The verdicts come from a built-in matcher (byte patterns, also across packet boundaries,
// a size cap per transfer, a rate cap) and from a callback (a Starlark function) that sees
// the payload and the channel's metadata. The pure parts (packet parsing and checksums, the
// stream of each direction, the matcher, the rate bucket, the judge) work without the
// kernel; [Queue] reads the NFQUEUE queues with florianl/go-nfqueue.
package pktfilter
