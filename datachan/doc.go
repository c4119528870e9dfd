// Package datachan carries FTP data channels: the registry of expected connections (each backed
// by one element in the nft expectation sets), the one transparent data listener that every
// data connection arrives through, and the relay that joins the two legs.
//
// An expectation admits exactly one connection: the element is deleted when the connection is
// claimed, when the owning session supersedes or ends it, or when its timeout runs out (the
// kernel expires the element on its own, so a crashed daemon leaves no hole behind).
package datachan
