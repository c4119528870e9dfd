package main

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// rowID names a row of the comparison table (a path through gw).
type rowID int

// The rows, in table order.
const (
	rowForward      rowID = iota // plain kernel forwarding, gateway stopped
	rowHelper                    // forwarding with the conntrack FTP helper, forward chain strict
	rowProxy                     // ftpgate, data relayed in userspace (splice)
	rowHashed                    // ftpgate, data relayed in userspace through a SHA-256 (transfer_hash: sha256)
	rowObserve                   // ftpgate proxied, every object handed to an exec hook (sha256sum) after it passed
	rowICAP                      // ftpgate proxied, every object stored and scanned by ICAP (c-icap + clamd) first
	rowKernel                    // ftpgate, data_path: kernel
	rowQueued                    // ftpgate, data_path: kernel with a packet filter (every data packet through NFQUEUE)
	rowQueuedHashed              // the same, the filter also digesting the transfers (transfer_hash: sha256)
	rowRelay                     // a bare transparent Go relay of every connection: the floor of any user-space hop
	rowFTPSGate                  // FTPS through ftpgate (TLS terminated on both legs)
	rowFTPSFwd                   // FTPS through plain forwarding
	numRows
)

// rowSpec describes a row: its name in the table, its -rows key, its label in the chart, the
// row its ratios are relative to, whether ftpgate carries it (only those get an RSS figure),
// whether it is FTPS and whether only the transfer measurement applies to it (the
// inspection rows: their hooks see objects, nothing else; the packet filter row: its filter
// sees data channels only).
type rowSpec struct {
	name, key, label string
	base             rowID
	gateway          bool
	tls              bool
	transferOnly     bool
}

// rowSpecs are the rows of the table.
var rowSpecs = [numRows]rowSpec{
	rowForward: {name: "forwarding", key: "forwarding", label: "FORWARD", base: rowForward},
	rowHelper:  {name: "conntrack helper", key: "helper", label: "CT HELPER", base: rowForward},
	rowProxy:   {name: "ftpgate proxied", key: "proxied", label: "PROXIED", base: rowForward, gateway: true},
	rowHashed:  {name: "ftpgate proxied + sha256", key: "sha256", label: "SHA256", base: rowProxy},
	rowObserve: {name: "ftpgate observe (sha256 hook)", key: "observe", label: "OBSERVE", base: rowProxy, transferOnly: true},
	rowICAP:    {name: "ftpgate inspect (ICAP + ClamAV)", key: "icap", label: "ICAP", base: rowProxy, transferOnly: true},
	rowKernel:  {name: "ftpgate kernel path", key: "kernel", label: "KERNEL", base: rowForward, gateway: true},
	rowQueued:  {name: "ftpgate kernel path + packet filter (NFQUEUE)", key: "queued", label: "NFQUEUE", base: rowKernel, transferOnly: true},
	rowQueuedHashed: {name: "ftpgate kernel path + packet filter + sha256", key: "queued-sha256", label: "NFQ SHA256",
		base: rowKernel, transferOnly: true},
	rowRelay:    {name: "bare Go relay (floor)", key: "relay", label: "RELAY", base: rowForward},
	rowFTPSGate: {name: "FTPS via ftpgate", key: "ftps-gw", label: "FTPS GW", base: rowFTPSFwd, gateway: true, tls: true},
	rowFTPSFwd:  {name: "FTPS forwarded", key: "ftps-fwd", label: "FTPS FWD", base: rowFTPSFwd, tls: true},
}

// loginConcurrency are the numbers of parallel clients the logins/s columns use.
var loginConcurrency = []int{1, 4, 16}

// rowResult collects one row's measurements over all runs. Per-run slices are indexed by
// run, so that a row can be compared with its base row run by run.
type rowResult struct {
	spec rowSpec
	// skip says -rows left the row out: it is neither measured nor printed.
	skip bool
	// na, when set, says why the whole row could not be measured.
	na string
	// retr and stor are curl's speeds per run, bytes per second; cpu is the machine's busy
	// CPU seconds per GiB during each run's RETR.
	retr, stor, cpu []float64
	// noop holds every NOOP round trip of every run.
	noop []time.Duration
	// logins maps a concurrency to the logins per second of each run.
	logins map[int][]float64
	// rss has one cell per idle-session count (gateway rows only).
	rss []rssCell
	// mirror is the small-file mirror's files per second per run; setups the PASV replies
	// per second per run.
	mirror, setups rateResult
}

// rateResult is a rate measured once per run, or why a run failed: a failed run makes the
// cell an error note, but the bench goes on.
type rateResult struct {
	vals []float64
	fail string // short note of the first failed run
}

// cell is the median of the rates in format f, the error note of a failed run, or a dash
// when nothing was measured.
func (r rateResult) cell(f string) string {
	if r.fail != "" {
		return "error: " + r.fail
	}
	return numCell(r.vals, f)
}

// rssCell is the gateway's resident memory per idle logged-in session at sessions sessions,
// or why it could not be measured.
type rssCell struct {
	sessions   int
	perSession float64 // bytes
	na         string
}

// newResults returns an empty result for every row.
func newResults() []*rowResult {
	out := make([]*rowResult, numRows)
	for i := range out {
		out[i] = &rowResult{spec: rowSpecs[i], logins: map[int][]float64{}}
	}
	return out
}

// dash marks a cell that does not apply to its row.
const dash = "–"

// benchTable is a formatted comparison table: a header and rows of cells. A row with only two
// cells is a note row (its name, then a remark that spans the other columns).
type benchTable struct {
	header []string
	rows   [][]string
}

// buildTable formats the results of the rows not skipped; sessions are the idle-session
// counts of the RSS columns, measured says which columns were measured (the others print a
// dash).
func buildTable(res []*rowResult, sessions []int, measured measureSet) benchTable {
	t := benchTable{header: []string{"path", "RETR MiB/s", "RETR ×", "STOR MiB/s", "STOR ×",
		"NOOP p50 ms", "NOOP p99 ms"}}
	for _, c := range loginConcurrency {
		t.header = append(t.header, fmt.Sprintf("logins/s c%d", c))
	}
	t.header = append(t.header, "mirror files/s", fmt.Sprintf("PASV/s c%d", setupSessions), "CPU s/GiB")
	for _, n := range sessions {
		t.header = append(t.header, fmt.Sprintf("KiB/sess @%d", n))
	}
	for _, r := range res {
		switch {
		case r.skip:
		case r.na != "":
			t.rows = append(t.rows, []string{r.spec.name, r.na})
		default:
			t.rows = append(t.rows, rowCells(r, res[r.spec.base], sessions, measured[measRSS]))
		}
	}
	return t
}

// rowCells are the cells of a measured row r, whose ratios are relative to base; withRSS
// says the idle-session memory was measured.
func rowCells(r, base *rowResult, sessions []int, withRSS bool) []string {
	row := []string{r.spec.name,
		speedCell(r.retr), ratioCell(r.retr, base.retr),
		speedCell(r.stor), ratioCell(r.stor, base.stor),
		msCell(r.noop, 50), msCell(r.noop, 99)}
	for _, c := range loginConcurrency {
		row = append(row, numCell(r.logins[c], "%.0f"))
	}
	row = append(row, r.mirror.cell("%.0f"), r.setups.cell("%.0f"), numCell(r.cpu, "%.2f"))
	for _, n := range sessions {
		if withRSS {
			row = append(row, rssText(r, n))
		} else {
			row = append(row, dash)
		}
	}
	return row
}

// speedCell is the median of speeds in MiB/s.
func speedCell(xs []float64) string {
	if len(xs) == 0 {
		return dash
	}
	return fmt.Sprintf("%.0f", median(xs)/(1<<20))
}

// ratioCell is the median of the per-run ratios of xs to base.
func ratioCell(xs, base []float64) string {
	r := ratios(xs, base)
	if len(r) == 0 {
		return dash
	}
	return fmt.Sprintf("%.2f", median(r))
}

// numCell is the median of xs in format f.
func numCell(xs []float64, f string) string {
	if len(xs) == 0 {
		return dash
	}
	return fmt.Sprintf(f, median(xs))
}

// msCell is the p-th percentile of ds in milliseconds.
func msCell(ds []time.Duration, p float64) string {
	if len(ds) == 0 {
		return dash
	}
	return fmt.Sprintf("%.3f", float64(percentile(ds, p))/float64(time.Millisecond))
}

// rssText is the RSS cell of r for n sessions: KiB per session, "n/a (why)", or a dash for
// rows without a gateway.
func rssText(r *rowResult, n int) string {
	if !r.spec.gateway {
		return dash
	}
	for _, c := range r.rss {
		if c.sessions != n {
			continue
		}
		if c.na != "" {
			return "n/a (" + c.na + ")"
		}
		return fmt.Sprintf("%.1f", c.perSession/1024)
	}
	return "n/a"
}

// text renders t as aligned plain text: the first column left-aligned, the others right.
func (t benchTable) text() string {
	width := make([]int, len(t.header))
	for i, h := range t.header {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, row := range t.rows {
		if len(row) == 2 && len(t.header) > 2 {
			width[0] = max(width[0], utf8.RuneCountInString(row[0]))
			continue
		}
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			pad := strings.Repeat(" ", max(0, width[i]-utf8.RuneCountInString(c)))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			case len(cells) == 2 && len(t.header) > 2:
				b.WriteString("  " + c) // a note spans the remaining columns
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	line(t.header)
	sep := make([]string, len(t.header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range t.rows {
		line(row)
	}
	return b.String()
}

// markdown renders t as a GitHub table, numbers right-aligned; a note row fills its
// remaining cells with nothing.
func (t benchTable) markdown() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i := range t.header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	line(t.header)
	b.WriteString("|---|")
	for range t.header[1:] {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, row := range t.rows {
		line(row)
	}
	return b.String()
}

// tableNotes explains the columns, below the table.
const tableNotes = `× = median of the per-run ratios to "forwarding" (FTPS rows: to "FTPS forwarded"; sha256, observe and
ICAP rows: to "ftpgate proxied"; packet filter row: to "ftpgate kernel path"), runs interleaved.
MiB/s: curl EPSV, RETR to /dev/null and STOR from a file, median of the runs. NOOP: round trips on one
logged-in control connection. logins/s: connect+USER/PASS+QUIT loops (FTPS rows: with AUTH TLS).
mirror files/s: lftp mirror --parallel=4 (EPSV) of a directory of 1-KiB files into an empty one.
PASV/s c16: 227 replies per second to PASV loops on 16 logged-in sessions, no data connection
(through ftpgate each one sets up a pinhole). CPU s/GiB: busy time of the whole machine (/proc/stat)
during RETR. KiB/sess @N: ftpgate's VmRSS growth per idle logged-in session with N sessions open.
observe: each object goes to an exec hook (sha256sum) after it passed; inspect (ICAP + ClamAV): each
object is spooled, scanned by c-icap + clamd over ICAP (RESPMOD/REQMOD), and only then sent on (each
run's files made unique; measured only once the scanner refused EICAR at the end of an object of the
file's size); packet filter (NFQUEUE): the kernel path with a packet_filter (one pattern not in the
file, queue_bypass: false), every data packet judged by ftpgate through an NFQUEUE queue; these three
rows measure transfers only.
– = does not apply or not measured; error: = that measurement failed (see the progress lines).`
