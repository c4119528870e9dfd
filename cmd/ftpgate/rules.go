package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ftpgate/ftpgate/nft"
)

// cmdRules prints the nftables table and the policy routing `ftpgate run` installs with the
// same flags.
func cmdRules(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions("rules", args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "ftpgate rules: %v\n", err)
		return exitUsage
	}
	fmt.Fprint(stdout, nft.Render(o.nft.WithDefaults()))
	fmt.Fprintf(stdout, "\n# policy routing (IPv4 and IPv6)\n")
	for _, fam := range []string{"-4", "-6"} {
		fmt.Fprintf(stdout, "# ip %s rule add fwmark %#x lookup %d\n", fam, o.nft.Mark, o.routeTable)
		fmt.Fprintf(stdout, "# ip %s route add local default dev lo table %d\n", fam, o.routeTable)
	}
	return exitOK
}
