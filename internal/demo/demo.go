package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// Demo sizes and bounds.
const (
	demoTimeout = 90 * time.Second
	downSize    = 8 << 20 // bytes each RETR moves
	upSize      = 4 << 20 // bytes each STOR moves
	elementWait = 3 * time.Second
)

// runDemo builds the topology, runs the demo, removes everything and prints the verdict.
func runDemo(parent context.Context, p *printer, c config) error {
	ctx, cancel := context.WithTimeout(parent, demoTimeout)
	defer cancel()
	p.line("ftpgate demo: client -> gw (ftpgate, transparent) -> server, three network namespaces")
	b, err := newBed(ctx, p, false, c.keep)
	var summary string
	if err != nil && parent.Err() == nil {
		report(p, err)
	}
	if err == nil {
		summary, err = demo(ctx, p, b, c.bin)
		if cerr := b.close(p); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	}
	if parent.Err() != nil {
		return parent.Err() // interrupted: main says so
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v: %w", demoTimeout, err)
		}
		summary, _ := summarize(err)
		p.line("demo: FAIL — %s (%.1fs)", summary, p.elapsed().Seconds())
		return err
	}
	p.line("demo: PASS — %s (%.1fs)", summary, p.elapsed().Seconds())
	return nil
}

// demo runs ftpgate on b, shows an expectation, moves files in every mode, checks the
// records, stops ftpgate and checks that it removed what it installed. It returns the
// verdict's summary.
func demo(ctx context.Context, p *printer, b *bed, bin string) (_ string, err error) {
	g, err := b.startGateway(ctx, bin)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil && ctx.Err() == nil {
			report(p, err)
			p.step("ftpgate log (last lines of %s):", g.Proc.Log)
			p.block(tail(g.LogText(), 8))
		}
		_ = g.Stop() // Stop runs once; a repeated call only returns the first result
	}()
	p.step("ftpgate: running in the gw namespace (pid %d): TPROXY for port 21, table inet %s", g.Proc.Pid(), table)

	if err := peek(ctx, p, b); err != nil {
		return "", err
	}
	exp, err := transfers(ctx, p, b, downSize, upSize)
	if err != nil {
		return "", err
	}
	if problems := records(ctx, p, g, b.tp, exp); len(problems) > 0 {
		return "", fmt.Errorf("%d transfer records wrong: %s", len(problems), strings.Join(problems, "; "))
	}
	wctx, cancel := context.WithTimeout(ctx, elementWait)
	left, err := waitNoElements(wctx, b)
	cancel()
	if err != nil {
		return "", fmt.Errorf("list expectation sets: %w", err)
	}
	if len(left) > 0 {
		return "", fmt.Errorf("expectation elements left after all sessions ended: %v", left)
	}
	p.step("expectations: sets data4 and data6 are empty after all sessions ended")

	if err := g.Stop(); err != nil {
		return "", fmt.Errorf("stop ftpgate: %w", err)
	}
	leftovers, err := scenario.Leftovers(ctx, b.tp, table)
	if err != nil {
		return "", err
	}
	if len(leftovers) > 0 {
		return "", errors.New("ftpgate stopped but left behind: " + strings.Join(leftovers, "; "))
	}
	p.step("ftpgate: stopped (SIGTERM); gw has no table inet %s and no fwmark rule (nft list tables, ip rule)", table)
	return fmt.Sprintf("%d transfers in %d modes, all checksums and records match, no element left, table and fwmark rule removed",
		len(exp), len(legs())), nil
}
