package main

import "github.com/ftpgate/ftpgate/internal/clidoc"

// manDescription is the manual page's DESCRIPTION; the flags come from the flag sets.
var manDescription = []string{
	"ftpgate is a transparent FTP gateway for Linux routers and firewalls. nftables TPROXY rules hand every connection to an FTP control port (TCP 21 by default) to ftpgate, which applies the policy of the matching service to every command and reply, opens exactly the data channels the session negotiates (PASV, EPSV, PORT, EPRT), can end or bridge TLS (AUTH TLS, implicit FTPS), inspects transfers through hooks, and logs one record per session and per transfer.",
	"At start, ftpgate run builds its own table (table inet ftpgate) in one atomic batch and adds the policy routing TPROXY needs (ip rule fwmark 0x1 lookup 100; local default dev lo table 100, IPv4 and IPv6); on SIGTERM it drains running transfers, then removes both. ftpgate rules prints exactly what will be installed.",
	"Services and policies live in /etc/ftpgate/ftpgate.yaml (see the commented reference in /usr/share/doc/ftpgate/examples/); the gateway's own settings are the flags of ftpgate run, which the systemd unit takes from FTPGATE_ARGS in /etc/default/ftpgate.",
}

// manSections follow COMMANDS in the manual page.
var manSections = []clidoc.Section{
	{Title: "EXIT STATUS", Paragraphs: []string{
		"0 clean stop; 1 runtime error (systemd restarts the service); 2 bad command line; 3 missing privileges (CAP_NET_ADMIN) or kernel support (nf_tables, TPROXY, socket expression), in which case nothing was changed.",
	}},
	{Title: "FILES", Paragraphs: []string{
		"  /etc/ftpgate/ftpgate.yaml     services and policies (-c)\n  /etc/ftpgate/policy.star      Starlark policy callbacks named by script:\n  /etc/default/ftpgate          FTPGATE_ARGS, the flags of ftpgate run\n  /usr/lib/systemd/system/ftpgate.service\n  /usr/lib/sysctl.d/90-ftpgate.conf    forwarding, rp_filter, nf_conntrack_acct\n  /usr/lib/modules-load.d/ftpgate.conf kernel modules loaded at boot\n  /usr/share/ftpgate/ftpgate.nft       for operators with their own nftables ruleset",
	}},
	{Title: "EXAMPLES", Paragraphs: []string{
		"  ftpgate check -c /etc/ftpgate/ftpgate.yaml\n  ftpgate rules -control-ports 21,2121\n  systemctl enable --now ftpgate\n  systemctl reload ftpgate\n  journalctl -u ftpgate",
	}},
	{Title: "SEE ALSO", Paragraphs: []string{
		"nft(8), ip-rule(8), systemd.exec(5), https://github.com/ftpgate/ftpgate",
	}},
}
