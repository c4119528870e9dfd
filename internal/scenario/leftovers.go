package scenario

import (
	"context"
	"fmt"
	"strings"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// Leftovers reports what a stopped gateway left behind in the gateway namespace: the nft
// table `inet name` (from `nft list tables`) and any fwmark policy rule (from `ip rule` and
// `ip -6 rule`). It returns one description per leftover; none means the gateway cleaned up.
func Leftovers(ctx context.Context, tp *testbed.Topology, name string) ([]string, error) {
	var left []string
	tables, _, err := tp.Exec(ctx, tp.GW, "nft", "list", "tables")
	if err != nil {
		return nil, fmt.Errorf("scenario: leftovers: %w", err)
	}
	for _, line := range strings.Split(tables, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "table" && f[1] == "inet" && f[2] == name {
			left = append(left, "nft table inet "+name)
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		rules, _, err := tp.Exec(ctx, tp.GW, "ip", fam, "rule", "list")
		if err != nil {
			return nil, fmt.Errorf("scenario: leftovers: %w", err)
		}
		for _, line := range strings.Split(rules, "\n") {
			if strings.Contains(line, "fwmark") {
				left = append(left, "ip "+fam+" rule "+strings.Join(strings.Fields(line), " "))
			}
		}
	}
	return left, nil
}
