package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// benchTimeout bounds the whole benchmark, far above what it takes: fixed parts (setup, idle
// sessions), and per row and run the logins, NOOPs and PASV loops plus a RETR and a STOR at a
// pessimistic 20 MiB/s and the small-file mirror at its timeout.
func benchTimeout(c config) time.Duration {
	perRow := 45*time.Second + 2*time.Duration(c.size/(20<<20))*time.Second
	if c.measure[measMirror] {
		perRow += mirrorTimeout(c.mirrorFiles)
	}
	return 10*time.Minute + time.Duration(c.runs)*time.Duration(numRows)*perRow
}

// runBench builds the topology, measures every row, removes everything and prints the
// table (aligned text and Markdown) and writes the chart. The numbers are reported, never
// judged: only a broken run is an error.
func runBench(parent context.Context, p *printer, c config) error {
	timeout := benchTimeout(c)
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	p.line("ftpgate bench: %s; %d runs per path, interleaved", benchHeadline(c), c.runs)
	res := newResults()
	for i := range res {
		res[i].skip = !c.rows[i]
	}
	b, err := newBed(ctx, p, false, c.keep)
	if err == nil {
		err = benchAll(ctx, p, b, c, res)
		if err != nil && parent.Err() == nil {
			report(p, err)
		}
		if cerr := b.close(p); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	} else if parent.Err() == nil {
		report(p, err)
	}
	if parent.Err() != nil {
		return parent.Err() // interrupted: main says so
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v: %w", timeout, err)
		}
		summary, _ := summarize(err)
		p.line("bench: FAIL — %s (%.1fs)", summary, p.elapsed().Seconds())
		return err
	}
	t := buildTable(res, c.sessions, c.measure)
	p.line("")
	p.line("%s", machineLine(time.Now(), c))
	p.line("")
	p.line("%s", t.text())
	p.line("%s", tableNotes)
	p.line("")
	p.line("Markdown:")
	p.line("")
	p.line("%s", t.markdown())
	if !c.measure[measTransfer] {
		p.line("bench: done, no chart (no transfers measured) (%.1fs)", p.elapsed().Seconds())
		return nil
	}
	if err := writeChart(c.chart, chartGroups(res)); err != nil {
		p.line("bench: FAIL — %v", err)
		return err
	}
	p.line("bench: chart of the ratios written to %s (%.1fs)", c.chart, p.elapsed().Seconds())
	return nil
}

// benchHeadline names the selected measurements for the first line.
func benchHeadline(c config) string {
	what := [numMeasures]string{
		measTransfer: fmt.Sprintf("RETR/STOR of %s with curl (EPSV) and CPU", mib(c.size)),
		measNoop:     "NOOP round trips",
		measLogins:   "logins/s",
		measMirror:   fmt.Sprintf("lftp mirror of %d 1-KiB files", c.mirrorFiles),
		measSetups:   fmt.Sprintf("PASV/s on %d sessions", setupSessions),
		measRSS:      "idle-session memory",
	}
	var s []string
	for m, w := range what {
		if c.measure[m] {
			s = append(s, w)
		}
	}
	if len(s) == 0 {
		return "no measurement selected"
	}
	return strings.Join(s, ", ")
}

// machineLine says when and where the bench ran.
func machineLine(now time.Time, c config) string {
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	mirror := ""
	if c.measure[measMirror] {
		mirror = fmt.Sprintf("  mirror %d × 1 KiB", c.mirrorFiles)
	}
	return fmt.Sprintf("%s  kernel %s  %d CPUs  file %s%s  %d runs", now.Format("2006-01-02 15:04 MST"),
		kernel, runtime.NumCPU(), mib(c.size), mirror, c.runs)
}

// plainRows are the rows of the plain FTP sitting.
var plainRows = []rowID{rowForward, rowHelper, rowProxy, rowHashed, rowObserve, rowICAP, rowKernel, rowQueued, rowQueuedHashed, rowRelay}

// benchAll measures in two sittings, so that vsftpd restarts once: plain FTP (forwarding,
// conntrack helper, ftpgate proxied with and without sha256, with an observing exec hook and
// with ICAP inspection, ftpgate kernel path without and with the packet filter, bare relay),
// then FTPS (through ftpgate, forwarded), each only when -rows selects one of its rows. The
// ICAP row's scanner runs for the whole plain sitting. Idle-session memory is measured after
// the runs of each sitting.
func benchAll(ctx context.Context, p *printer, b *bed, c config, res []*rowResult) (err error) {
	if err := makeFiles(p, b, c); err != nil {
		return err
	}
	e, err := newBenchEnv(ctx, p, b, c)
	if err != nil {
		return err
	}
	if !e.hasDataPath {
		res[rowKernel].na = kernelNA
	}
	if !e.hasHash {
		res[rowHashed].na = hashNA
	}
	e.markInspectNA(res)
	for i, id := range []rowID{rowQueued, rowQueuedHashed} {
		if e.queuedNA[i] != "" {
			res[id].na = e.queuedNA[i]
		}
	}
	stopScanner, err := e.startScanner(ctx, res)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopScanner()) }()
	if c.rows.has(plainRows...) {
		if err := e.sitting(ctx, res, plainRows...); err != nil {
			return err
		}
		if err := e.idleSessions(ctx, res, nil, rowProxy, rowKernel); err != nil {
			return err
		}
		if err := errors.Join(e.checkClean(ctx), stopScanner()); err != nil {
			return err
		}
	}
	if !c.rows.has(rowFTPSGate, rowFTPSFwd) {
		return nil
	}
	if err := restartVsftpdTLS(ctx, b, e.ftps); err != nil {
		return err
	}
	p.step("vsftpd: restarted with explicit FTPS (certificate from its own CA, require_ssl_reuse)")
	if err := e.sitting(ctx, res, rowFTPSGate, rowFTPSFwd); err != nil {
		return err
	}
	if err := e.idleSessions(ctx, res, e.ftps, rowFTPSGate); err != nil {
		return err
	}
	return e.checkClean(ctx)
}

// makeFiles creates the files the selected measurements need: the transfer files and the
// small files of the mirror.
func makeFiles(p *printer, b *bed, c config) error {
	start := time.Now()
	if c.measure[measTransfer] {
		if err := makeBenchFiles(b, c.size); err != nil {
			return err
		}
		p.step("files: %s of %s in the FTP root and on the client side (%.1fs)", benchFile, mib(c.size), time.Since(start).Seconds())
	}
	start = time.Now()
	if c.measure[measMirror] {
		if err := makeMirrorFiles(b, c.mirrorFiles); err != nil {
			return err
		}
		p.step("files: %d files of %d bytes in %s/ of the FTP root (%.1fs)", c.mirrorFiles, mirrorFileSize, mirrorDir, time.Since(start).Seconds())
	}
	return nil
}

// sitting makes c.runs runs over rows. Every run measures each row once, in an order that
// rotates from run to run, so that changing load hits all rows alike. A row that turns out
// not to be available is marked n/a and skipped from then on; rows -rows left out, and rows
// none of the selected measurements applies to, are not set up at all.
func (e *benchEnv) sitting(ctx context.Context, res []*rowResult, rows ...rowID) error {
	for run := range e.c.runs {
		order := rotate(rows, run)
		for _, id := range order {
			if res[id].skip || res[id].na != "" || len(e.stepsFor(id)) == 0 {
				continue
			}
			err := e.measureRun(ctx, id, res[id])
			if na := naCell(err); na != "" {
				e.p.step("%s: %s", rowSpecs[id].name, firstLine(err))
				*res[id] = rowResult{spec: rowSpecs[id], na: na, logins: map[int][]float64{}}
				continue
			}
			if err != nil {
				return fmt.Errorf("run %d/%d, %s: %w", run+1, e.c.runs, rowSpecs[id].name, err)
			}
		}
	}
	return nil
}

// naCell is the n/a cell of a row whose run failed with err because the row cannot be
// measured here (errRowNA), "" for any other err.
func naCell(err error) string {
	var na *naError
	switch {
	case errors.As(err, &na):
		return na.cell
	case errors.Is(err, errRowNA):
		return kernelNA
	}
	return ""
}

// rotate returns rows rotated left by k.
func rotate(rows []rowID, k int) []rowID {
	if len(rows) == 0 {
		return nil
	}
	k %= len(rows)
	return append(append([]rowID{}, rows[k:]...), rows[:k]...)
}

// idleSessions measures the gateway's memory per idle session for each available row of ids,
// against the session server (with FTPS when s is set) in place of the testbed's vsftpd,
// after raising the descriptor limit for the largest session count if allowed.
func (e *benchEnv) idleSessions(ctx context.Context, res []*rowResult, s *ftpsSetup, ids ...rowID) (err error) {
	ids = slices.DeleteFunc(ids, func(id rowID) bool { return res[id].skip || res[id].na != "" })
	if !e.c.measure[measRSS] || len(e.c.sessions) == 0 || len(ids) == 0 {
		return nil
	}
	if err := e.b.srv.Stop(); err != nil {
		return fmt.Errorf("stop vsftpd: %w", err)
	}
	srv, err := startSessionServer(ctx, e.b, s)
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop the session server: %w", serr)
		}
	}()
	if !e.noFileRaised {
		e.noFileRaised = true
		largest := uint64(e.c.sessions[len(e.c.sessions)-1])
		// ftpgate sizes its session limit to a sixth of its descriptors (see cmd/ftpgate).
		if err := raiseNoFile(max(65536, 6*largest+1024)); err != nil {
			e.p.step("idle sessions: %v", err) // the cells that need more say so
		}
	}
	for _, id := range ids {
		cells, err := measureRSS(ctx, e.p, e, id, e.c.sessions)
		if err != nil {
			return fmt.Errorf("%s: idle sessions: %w", rowSpecs[id].name, err)
		}
		res[id].rss = cells
	}
	return nil
}

// checkClean makes sure a sitting left gw as it found it: no ftpgate table or fwmark rule, no
// helper table, and the testbed's forward chain dropping again.
func (e *benchEnv) checkClean(ctx context.Context) error {
	left, err := scenario.Leftovers(ctx, e.b.tp, table)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("ftpgate stopped but left behind: %s", strings.Join(left, "; "))
	}
	if err := noBenchTable(ctx, e.b.tp); err != nil {
		return err
	}
	chain, err := nftOut(ctx, e.b.tp, "list", "chain", "inet", "tbfw", "forward")
	if err != nil {
		return err
	}
	if !strings.Contains(chain, "policy drop;") {
		return fmt.Errorf("gw's forward chain does not drop again:\n%s", chain)
	}
	return nil
}
