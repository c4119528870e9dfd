package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// runStep is one measurement of a run on row id, through gateway g (nil for the rows
// without ftpgate). It appends its figures to r and returns its part of the progress line.
type runStep func(e *benchEnv, ctx context.Context, id rowID, g *scenario.Gateway, r *rowResult) (string, error)

// runSteps are the measurements a run makes, in order; idle-session memory (measRSS) is
// measured after the runs, by idleSessions.
var runSteps = [numMeasures]runStep{
	measTransfer: (*benchEnv).stepTransfer,
	measNoop:     (*benchEnv).stepNoop,
	measLogins:   (*benchEnv).stepLogins,
	measMirror:   (*benchEnv).stepMirror,
	measSetups:   (*benchEnv).stepSetups,
}

// stepsFor returns the selected measurements that runs make on row id.
func (e *benchEnv) stepsFor(id rowID) []runStep {
	var out []runStep
	for m, step := range runSteps {
		if step != nil && e.c.measure[m] && applies(measureID(m), id) {
			out = append(out, step)
		}
	}
	return out
}

// measureRun makes one run of row id: the selected measurements of runSteps, appended to r,
// with the row set up once for all of them.
func (e *benchEnv) measureRun(ctx context.Context, id rowID, r *rowResult) (err error) {
	g, closeRow, err := e.openRow(ctx, id)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeRow(); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
		if err != nil && g != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w\nftpgate log:\n%s", err, tail(g.LogText(), 10))
		}
	}()
	var parts []string
	for _, step := range e.stepsFor(id) {
		part, err := step(e, ctx, id, g, r)
		if err != nil {
			return err
		}
		parts = append(parts, part)
	}
	e.p.step("%-31s %s", rowSpecs[id].name, strings.Join(parts, "  "))
	return nil
}

// stepTransfer measures RETR (with the CPU it costs: the machine's, and ftpgate's own for the
// progress line) and STOR with curl; on the ICAP row, of files made unique first
// (stampFiles). Through ftpgate, the transfer records must show that every byte passed (and
// on the inspection rows, that the hook allowed it; on the packet filter row, that the
// filter judged every byte: its account goes in the progress line too); under the conntrack
// helper, its related rule must have let the data connections through.
func (e *benchEnv) stepTransfer(ctx context.Context, id rowID, g *scenario.Gateway, r *rowResult) (string, error) {
	size, ca, slack := e.c.size, e.caFile(id), hookTimeout(id)
	if id == rowICAP {
		if err := e.stampFiles(); err != nil {
			return "", err
		}
	}
	gw0, ok0 := gatewayCPU(g)
	rs, cpu, err := retr(ctx, e.b, ca, size, slack)
	if err != nil {
		return "", e.withScannerLogs(id, err)
	}
	gw1, ok1 := gatewayCPU(g)
	ss, err := stor(ctx, e.b, ca, size, slack)
	if err != nil {
		return "", e.withScannerLogs(id, err)
	}
	if err := e.checkPath(ctx, id, g, size); err != nil {
		return "", e.withScannerLogs(id, err)
	}
	r.retr, r.stor, r.cpu = append(r.retr, rs), append(r.stor, ss), append(r.cpu, cpu)
	own := ""
	if ok0 && ok1 {
		own = fmt.Sprintf(" (ftpgate %.2f)", (gw1-gw0)/(float64(size)/gib))
	}
	return fmt.Sprintf("RETR %5.0f MiB/s  STOR %5.0f MiB/s  CPU %.2f s/GiB%s%s", rs/(1<<20), ss/(1<<20), cpu, own,
		filterNote(g, id, size)), nil
}

// stepNoop measures the NOOP round trips on one logged-in connection.
func (e *benchEnv) stepNoop(ctx context.Context, id rowID, _ *scenario.Gateway, r *rowResult) (string, error) {
	rtt, err := noopRTT(ctx, e.target(id))
	if err != nil {
		return "", err
	}
	r.noop = append(r.noop, rtt...)
	return fmt.Sprintf("NOOP p50 %.3f ms", float64(percentile(rtt, 50))/1e6), nil
}

// stepLogins measures the logins per second at each concurrency.
func (e *benchEnv) stepLogins(ctx context.Context, id rowID, _ *scenario.Gateway, r *rowResult) (string, error) {
	var s []string
	for _, c := range loginConcurrency {
		v, err := loginRate(ctx, e.target(id), c)
		if err != nil {
			return "", err
		}
		r.logins[c] = append(r.logins[c], v)
		s = append(s, fmt.Sprintf("%.0f", v))
	}
	return "logins/s " + strings.Join(s, "/"), nil
}

// stepMirror mirrors the small files with lftp. A failed mirror makes the cell an error
// note; only the end of ctx ends the bench.
func (e *benchEnv) stepMirror(ctx context.Context, id rowID, g *scenario.Gateway, r *rowResult) (string, error) {
	start := time.Now()
	rate, paths, err := e.mirror(ctx, id, g)
	if err != nil {
		return e.noteFailure(ctx, id, g, "mirror", &r.mirror, err)
	}
	r.mirror.vals = append(r.mirror.vals, rate)
	if paths != "" {
		paths = "; records: " + paths
	}
	return fmt.Sprintf("mirror %.0f files/s (%.1fs%s)", rate, time.Since(start).Seconds(), paths), nil
}

// stepSetups measures the PASV replies per second on setupSessions sessions and says how
// many pinholes (nft elements, conntrack expectations) gw held at the end of the loops. A
// failure makes the cell an error note; only the end of ctx ends the bench.
func (e *benchEnv) stepSetups(ctx context.Context, id rowID, g *scenario.Gateway, r *rowResult) (string, error) {
	start := time.Now()
	rate, held, err := pasvRate(ctx, e.target(id), func() string { return e.pinholes(ctx, g) })
	if err != nil {
		return e.noteFailure(ctx, id, g, "PASV/s", &r.setups, err)
	}
	r.setups.vals = append(r.setups.vals, rate)
	return fmt.Sprintf("PASV/s %.0f (%.1fs; then gw held %s)", rate, time.Since(start).Seconds(), held), nil
}

// cellError is a failed measurement with a short note for its table cell.
type cellError struct {
	note string
	err  error
}

// Error returns the note and the underlying error.
func (c *cellError) Error() string { return c.note + ": " + c.err.Error() }

// Unwrap returns the underlying error.
func (c *cellError) Unwrap() error { return c.err }

// noteFailure records a failed measurement what of row id in res as an error note (the
// first failure's note stays) and prints why, with the end of ftpgate's log when g is set.
// When ctx has ended it returns err instead: the bench is over.
func (e *benchEnv) noteFailure(ctx context.Context, id rowID, g *scenario.Gateway, what string, res *rateResult, err error) (string, error) {
	if ctx.Err() != nil {
		return "", err
	}
	note := "failed"
	var ce *cellError
	if errors.As(err, &ce) {
		note = ce.note
	}
	if res.fail == "" {
		res.fail = note
	}
	e.p.step("%s: %s: FAILED: %s", rowSpecs[id].name, what, firstLine(err))
	if _, rest, ok := strings.Cut(err.Error(), "\n"); ok {
		e.p.block(tail(rest, 10))
	}
	if g != nil {
		e.p.block("ftpgate log:\n" + tail(g.LogText(), 5))
	}
	return what + " error: " + note, nil
}
