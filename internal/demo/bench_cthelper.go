package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// helperTable is the bench's own nft table in the gw namespace for the conntrack helper row.
const helperTable = "bench_cthelper"

// helperRules is the conntrack-helper firewall: the kernel's FTP helper follows every control
// connection to port 21, and the forward chain lets through only control connections and what
// the helper marks as related to them (the data connections), plus their established packets.
// The related rule counts, so the bench can tell that the helper really was at work.
const helperRules = `table inet ` + helperTable + ` {
	ct helper ftp-std {
		type "ftp" protocol tcp;
		l3proto inet;
	}
	chain pre {
		type filter hook prerouting priority filter; policy accept;
		tcp dport 21 ct helper set "ftp-std"
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established accept
		ct state related counter accept comment "related"
		tcp dport 21 ct state new accept
	}
}
`

// nftTimeout bounds one nft command.
const nftTimeout = 10 * time.Second

// helperOn installs helperRules in gw and then opens tbfw's forward policy, so that the
// strict chain of helperRules alone decides (a drop in any base chain at the hook is final,
// so tbfw's policy drop would drop what helperRules accepts). The returned function undoes
// both in reverse order, checks that tbfw's forward chain is exactly as before and deletes
// the expectations the helper left in gw. On error nothing is left changed.
func helperOn(ctx context.Context, tp *testbed.Topology) (off func() error, err error) {
	before, err := nftOut(ctx, tp, "list", "chain", "inet", "tbfw", "forward")
	if err != nil {
		return nil, fmt.Errorf("conntrack helper: %w", err)
	}
	file := filepath.Join(tp.Dir, helperTable+".nft")
	if err := os.WriteFile(file, []byte(helperRules), 0o644); err != nil {
		return nil, fmt.Errorf("conntrack helper: %w", err)
	}
	if _, err := nftOut(ctx, tp, "-f", file); err != nil {
		return nil, fmt.Errorf("conntrack helper: load table: %w", err)
	}
	off = func() error {
		ctx := context.WithoutCancel(ctx)
		var errs []error
		if err := tp.SetForward(ctx, false); err != nil {
			errs = append(errs, err)
		} else if after, err := nftOut(ctx, tp, "list", "chain", "inet", "tbfw", "forward"); err != nil {
			errs = append(errs, err)
		} else if after != before {
			errs = append(errs, fmt.Errorf("tbfw forward chain not restored:\nbefore:\n%s\nafter:\n%s", before, after))
		}
		if _, err := nftOut(ctx, tp, "delete", "table", "inet", helperTable); err != nil {
			errs = append(errs, err)
		}
		// The helper's expectations outlive its table and would block ftpgate's own.
		if err := flushExpectations(tp); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("conntrack helper: remove: %w", err)
		}
		return nil
	}
	if err := tp.SetForward(ctx, true); err != nil {
		return nil, errors.Join(fmt.Errorf("conntrack helper: %w", err), off())
	}
	return off, nil
}

// helperRelated returns how many packets the helper table's related rule has accepted.
func helperRelated(ctx context.Context, tp *testbed.Topology) (int64, error) {
	out, err := nftOut(ctx, tp, "list", "chain", "inet", helperTable, "forward")
	if err != nil {
		return 0, fmt.Errorf("conntrack helper: %w", err)
	}
	return parseRelatedCounter(out)
}

// parseRelatedCounter finds "counter packets N" on the rule commented "related".
func parseRelatedCounter(listing string) (int64, error) {
	for _, line := range strings.Split(listing, "\n") {
		if !strings.Contains(line, `comment "related"`) {
			continue
		}
		f := strings.Fields(line)
		for i := 0; i+2 < len(f); i++ {
			if f[i] == "counter" && f[i+1] == "packets" {
				n, err := strconv.ParseInt(f[i+2], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("conntrack helper: counter in %q: %w", line, err)
				}
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("conntrack helper: no related counter in:\n%s", listing)
}

// nftOut runs nft with args in the gw namespace and returns its output.
func nftOut(ctx context.Context, tp *testbed.Topology, args ...string) (string, error) {
	return execShort(ctx, tp, tp.GW, "nft", args...)
}

// execShort runs a short command (nft, ss) in namespace ns, bounded by nftTimeout, and returns
// its output.
func execShort(ctx context.Context, tp *testbed.Topology, ns, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, nftTimeout)
	defer cancel()
	out, _, err := tp.Exec(ctx, ns, name, args...)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}

// noBenchTable reports an error if the helper table is still in gw.
func noBenchTable(ctx context.Context, tp *testbed.Topology) error {
	out, err := nftOut(ctx, tp, "list", "tables")
	if err != nil {
		return err
	}
	if strings.Contains(out, "table inet "+helperTable+"\n") || strings.HasSuffix(out, "table inet "+helperTable) {
		return fmt.Errorf("table inet %s left in gw", helperTable)
	}
	return nil
}
