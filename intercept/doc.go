// Package intercept is ftpgate's TPROXY plumbing: transparent listeners that accept
// connections nftables hands over with `tproxy to :PORT`, recovery of a connection's
// original destination and peer, a dialer that can connect onward from the client's own
// (non-local) address, and the policy routing TPROXY needs (`ip rule fwmark MARK lookup
// TABLE` plus `local default dev lo table TABLE`, for IPv4 and IPv6).
//
// Sockets belong to the network namespace of the OS thread that creates them. Listen and
// Dialer.Dial create their sockets in the calling thread's namespace; callers that work in
// another namespace lock the OS thread and switch before calling them. Routing works through
// a netlink handle and so can target any namespace.
//
// The package needs CAP_NET_ADMIN (IP_TRANSPARENT, SO_MARK, routing changes); see
// CheckPrivileges and CheckTProxy.
package intercept
