// Package nft owns ftpgate's nftables table: the TPROXY rules that hand control and data
// connections to ftpgate, and the data4/data6 expectation sets whose elements expire on their
// own. Installer is the kernel seam; Netlink implements it with google/nftables and Fake
// renders nft text for unit tests.
//
// Render returns the same table as nft text (for `ftpgate rules` and operator-managed
// rulesets); the tests check that nft builds byte-for-byte the same bytecode from that text as
// Netlink does. Probe checks, read-only, that nf_tables is usable.
package nft
