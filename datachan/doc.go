// Package datachan carries FTP data channels end to end: the registry of expected
// connections (each backed by one element in the nft expectation sets), the one transparent
// data listener that every data connection arrives through, and each channel itself.
//
// A [Channel] has two legs, the client's and the server's ([Leg]); each either listens (an
// expectation the peer connects through) or connects (ftpgate dials). The channel joins them
// once both are up and the transfer's direction is known, and moves the bytes along its
// [Path] (today [Splice]: the relay, which Linux splices in the kernel), one way only, with
// half-close; the counts of each direction and the TLS of each leg make its [Result]. A
// session holds its channels in a [Set], asks for them with a [Spec], and hears back through
// [Peer], the one small interface a channel calls up.
//
// A [Guard] checks the kernel's table while the gateway runs and rebuilds it, with the live
// expectations, when someone flushed or deleted it.
//
// An expectation admits exactly one connection: the element is deleted when the connection is
// claimed, when the owning session supersedes or ends it, or when its timeout runs out (the
// kernel expires the element on its own, so a crashed daemon leaves no hole behind).
package datachan
