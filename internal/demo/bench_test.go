package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// queuedOffNA is the packet filter row's cell on a kernel without a queue statement.
const queuedOffNA = "n/a (packet filter off: the nftables table has no queue chain)"

// sampleResults are results as two runs of the bench could leave them.
func sampleResults() []*rowResult {
	res := newResults()
	ms := time.Millisecond
	set := func(id rowID, retr, stor []float64, base float64) {
		r := res[id]
		r.retr, r.stor, r.cpu = retr, stor, []float64{1.5, 2.5}
		r.noop = []time.Duration{ms / 10, ms / 5, ms / 4, 2 * ms}
		for _, c := range loginConcurrency {
			r.logins[c] = []float64{base * float64(c), base * float64(c) * 2}
		}
	}
	mb := float64(1 << 20)
	set(rowForward, []float64{1000 * mb, 1200 * mb}, []float64{800 * mb, 800 * mb}, 100)
	set(rowHelper, []float64{900 * mb, 1200 * mb}, []float64{800 * mb, 400 * mb}, 90)
	set(rowProxy, []float64{500 * mb, 600 * mb}, []float64{400 * mb, 400 * mb}, 50)
	set(rowHashed, []float64{400 * mb, 480 * mb}, []float64{300 * mb, 300 * mb}, 50)
	// The inspection rows measure transfers only.
	res[rowObserve].retr, res[rowObserve].stor = []float64{250 * mb, 450 * mb}, []float64{200 * mb, 320 * mb}
	res[rowObserve].cpu = []float64{3, 4}
	res[rowICAP].retr, res[rowICAP].stor = []float64{100 * mb, 120 * mb}, []float64{40 * mb, 40 * mb}
	res[rowICAP].cpu = []float64{9, 10}
	res[rowProxy].rss = []rssCell{{sessions: 1000, perSession: 20 * 1024}, {sessions: 10000, na: "too few free PIDs"}}
	res[rowKernel].na = kernelNA
	res[rowQueued].na, res[rowQueuedHashed].na = queuedOffNA, queuedOffNA
	set(rowRelay, []float64{600 * mb, 700 * mb}, []float64{500 * mb, 500 * mb}, 80)
	set(rowFTPSGate, []float64{200 * mb, 200 * mb}, []float64{100 * mb, 100 * mb}, 10)
	res[rowFTPSGate].rss = []rssCell{{sessions: 1000, perSession: 40 * 1024}}
	set(rowFTPSFwd, []float64{400 * mb, 400 * mb}, []float64{400 * mb, 400 * mb}, 20)
	res[rowForward].mirror.vals = []float64{900, 1100}
	res[rowForward].setups.vals = []float64{5000, 7000}
	res[rowHelper].mirror.fail = "9998 of 10000 files"
	res[rowProxy].setups.vals = []float64{3000}
	return res
}

// allMeasured is a measureSet with every measurement.
func allMeasured() measureSet {
	var m measureSet
	for i := range m {
		m[i] = true
	}
	return m
}

func TestBuildTable(t *testing.T) {
	tb := buildTable(sampleResults(), []int{1000, 10000}, allMeasured())
	if len(tb.header) != 15 || len(tb.rows) != int(numRows) {
		t.Fatalf("header %d columns, %d rows; want 15, %d", len(tb.header), len(tb.rows), numRows)
	}
	want := map[rowID][]string{
		rowForward: {"forwarding", "1100", "1.00", "800", "1.00", "0.200", "2.000", "150", "600", "2400",
			"1000", "6000", "2.00", dash, dash},
		rowHelper:   {"conntrack helper", "1050", "0.95", "600", "0.75", "0.200", "2.000", "135", "540", "2160", "error: 9998 of 10000 files", dash},
		rowProxy:    {"ftpgate proxied", "550", "0.50", "400", "0.50", "0.200", "2.000", "75", "300", "1200", dash, "3000"},
		rowFTPSGate: {"FTPS via ftpgate", "200", "0.50", "100", "0.25"},
		// Ratios to proxied, run by run (250/500, 450/600; 200/400, 320/400); only the
		// transfer columns and CPU are measured, the rest is a dash.
		rowObserve: {"ftpgate observe (sha256 hook)", "350", "0.62", "260", "0.65", dash, dash, dash, dash, dash,
			dash, dash, "3.50", dash, dash},
		rowICAP: {"ftpgate inspect (ICAP + ClamAV)", "110", "0.20", "40", "0.10", dash, dash, dash, dash, dash,
			dash, dash, "9.50", dash, dash},
	}
	for id, cells := range want {
		if got := tb.rows[id][:len(cells)]; strings.Join(got, "|") != strings.Join(cells, "|") {
			t.Errorf("row %s: %q, want %q", rowSpecs[id].name, got, cells)
		}
	}
	if got := tb.rows[rowProxy][13:]; got[0] != "20.0" || got[1] != "n/a (too few free PIDs)" {
		t.Errorf("proxied RSS cells %q", got)
	}
	if got := tb.rows[rowFTPSGate][14]; got != "n/a" {
		t.Errorf("FTPS RSS cell without a measurement: %q, want n/a", got)
	}
	if got := tb.rows[rowKernel]; len(got) != 2 || got[1] != kernelNA {
		t.Errorf("kernel row %q, want a note row", got)
	}
	if got := tb.rows[rowQueued]; len(got) != 2 || got[0] != "ftpgate kernel path + packet filter (NFQUEUE)" || got[1] != queuedOffNA {
		t.Errorf("packet filter row %q, want a note row", got)
	}
}

func TestBuildTableSelection(t *testing.T) {
	res := sampleResults()
	res[rowHelper].skip, res[rowFTPSFwd].skip = true, true
	var m measureSet
	m[measMirror] = true
	tb := buildTable(res, []int{1000}, m)
	var names []string
	for _, row := range tb.rows {
		names = append(names, row[0])
	}
	if got := strings.Join(names, ","); got != "forwarding,ftpgate proxied,ftpgate proxied + sha256,ftpgate observe (sha256 hook),"+
		"ftpgate inspect (ICAP + ClamAV),ftpgate kernel path,ftpgate kernel path + packet filter (NFQUEUE),ftpgate kernel path + packet filter + sha256,bare Go relay (floor),FTPS via ftpgate" {
		t.Errorf("rows %s: skipped rows must be left out", got)
	}
	// RSS was not measured: a dash, not "n/a".
	if got := tb.rows[1][len(tb.header)-1]; got != dash {
		t.Errorf("proxied RSS cell %q when rss is not measured, want %s", got, dash)
	}
	if n := len(chartGroups(res)); n != 6 { // proxied, sha256, observe, icap, relay, FTPS via ftpgate; not the n/a rows
		t.Errorf("%d chart groups with skipped rows, want 6", n)
	}
}

func TestTableText(t *testing.T) {
	text := buildTable(sampleResults(), []int{1000}, allMeasured()).text()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) != 2+int(numRows) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), 2+numRows, text)
	}
	width := utf8.RuneCountInString(lines[0])
	notes := 0
	for i, l := range lines {
		if strings.Contains(l, kernelNA) || strings.Contains(l, queuedOffNA) {
			notes++
			if !strings.HasPrefix(l, "ftpgate kernel path") {
				t.Errorf("note row %q", l)
			}
			continue
		}
		if n := utf8.RuneCountInString(l); n != width {
			t.Errorf("line %d is %d wide, want %d (aligned):\n%s", i, n, width, text)
		}
	}
	if notes != 3 {
		t.Errorf("%d note rows, want 3 (kernel, both packet filter rows):\n%s", notes, text)
	}
	// Numbers are right-aligned: the header's last column ends where the values end.
	if !strings.HasSuffix(lines[0], "KiB/sess @1000") || !strings.HasSuffix(lines[2], dash) {
		t.Errorf("unexpected alignment:\n%s", text)
	}
}

func TestTableMarkdown(t *testing.T) {
	md := buildTable(sampleResults(), []int{1000}, allMeasured()).markdown()
	lines := strings.Split(strings.TrimRight(md, "\n"), "\n")
	if len(lines) != 2+int(numRows) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), 2+numRows, md)
	}
	cols := strings.Count(lines[0], "|")
	for i, l := range lines {
		if strings.Count(l, "|") != cols {
			t.Errorf("line %d has %d bars, want %d: %q", i, strings.Count(l, "|"), cols, l)
		}
	}
	if !strings.HasPrefix(lines[1], "|---|--:|") {
		t.Errorf("separator %q", lines[1])
	}
}

func TestPercentileAndRatios(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {0.1, 1}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
	if got := ratios([]float64{2, 3, 4}, []float64{1, 0}); len(got) != 1 || got[0] != 2 {
		t.Errorf("ratios = %v, want [2] (pairs by run, skips a zero base)", got)
	}
}

func TestParseProcFiles(t *testing.T) {
	cpu, err := parseProcStat("cpu  10 1 5 100 7 2 3 4 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n")
	if err != nil || cpu.busy != 25 || cpu.total != 132 {
		t.Errorf("parseProcStat = %+v, %v; want busy 25 total 132", cpu, err)
	}
	if _, err := parseProcStat("intr 1 2 3"); err == nil {
		t.Error("parseProcStat accepted a line that is not cpu")
	}
	if busySeconds(cpuTicks{busy: 100}, cpuTicks{busy: 350}) != 2.5 {
		t.Error("busySeconds")
	}
	kib, err := parseStatusKiB("Name:\tftpgate\nVmRSS:\t   12345 kB\nThreads: 9\n", "VmRSS")
	if err != nil || kib != 12345 {
		t.Errorf("parseStatusKiB = %d, %v", kib, err)
	}
	if _, err := parseStatusKiB("Name:\tx\n", "VmRSS"); err == nil {
		t.Error("parseStatusKiB without the line")
	}
	ppid, err := parseStatPPID("4242 (odd (name) x) S 17 4242 4242 0 -1")
	if err != nil || ppid != 17 {
		t.Errorf("parseStatPPID = %d, %v; want 17", ppid, err)
	}
}

func TestParseRelatedCounter(t *testing.T) {
	listing := "table inet bench_cthelper {\n\tchain forward {\n\t\tct state established accept\n" +
		"\t\tct state related counter packets 3 bytes 180 accept comment \"related\"\n\t}\n}\n"
	if n, err := parseRelatedCounter(listing); err != nil || n != 3 {
		t.Errorf("parseRelatedCounter = %d, %v; want 3", n, err)
	}
	if _, err := parseRelatedCounter("table inet x {}"); err == nil {
		t.Error("parseRelatedCounter without the rule")
	}
}

func TestParseSessions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{{"1000,10000", "[1000 10000]", true}, {"", "[]", true}, {" 5 ", "[5]", true},
		{"10,5", "", false}, {"0", "", false}, {"x", "", false}, {"200000", "", false}} {
		got, err := parseSessions(tc.in)
		if (err == nil) != tc.ok || (tc.ok && fmt.Sprint(got) != tc.want) {
			t.Errorf("parseSessions(%q) = %v, %v; want %s ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRotate(t *testing.T) {
	rows := []rowID{rowForward, rowHelper, rowProxy}
	for k, want := range [][]rowID{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 1, 2}} {
		if got := rotate(rows, k); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("rotate(%d) = %v, want %v", k, got, want)
		}
	}
}

func TestChart(t *testing.T) {
	groups := chartGroups(sampleResults())
	if len(groups) != 7 { // helper, proxied, sha256, observe, icap, relay, FTPS via ftpgate; not the base rows, not n/a
		t.Fatalf("%d groups, want 7: %+v", len(groups), groups)
	}
	// The sha256 and inspection rows are read against the proxied row, not against forwarding.
	if g := groups[2]; g.label != "SHA256" || math.Abs(g.retr-0.8) > 1e-9 || math.Abs(g.stor-0.75) > 1e-9 {
		t.Errorf("sha256 group %+v, want 0.8/0.75 of proxied", g)
	}
	if g := groups[4]; g.label != "ICAP" || math.Abs(g.retr-0.2) > 1e-9 || math.Abs(g.stor-0.1) > 1e-9 {
		t.Errorf("icap group %+v, want 0.2/0.1 of proxied", g)
	}
	if g := groups[0]; g.label != "CT HELPER" || math.Abs(g.retr-0.95) > 1e-9 || math.Abs(g.stor-0.75) > 1e-9 {
		t.Errorf("helper group %+v", g)
	}
	path := filepath.Join(t.TempDir(), "bench.png")
	if err := writeChart(path, groups); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got.X != chartW || got.Y != chartH {
		t.Errorf("chart is %v, want %dx%d", got, chartW, chartH)
	}
	if !hasColour(img, colRETR) {
		t.Error("no RETR bar in the chart")
	}
	// The title names the base rows and fits in the chart (the font has no lower case and
	// draws unknown signs as blanks).
	if w := textWidth(chartTitle, textScale); w > chartW-chartLeft-chartRight {
		t.Errorf("title is %d pixels wide, room for %d", w, chartW-chartLeft-chartRight)
	}
	for _, r := range chartTitle {
		if _, ok := glyphs[r]; !ok && r != ' ' {
			t.Errorf("title sign %q has no glyph", r)
		}
	}
	if !strings.Contains(chartTitle, rowSpecs[rowQueued].label+": TO KERNEL") {
		t.Errorf("title %q does not say the packet filter row is read against the kernel row", chartTitle)
	}
	// An empty chart (every row n/a) is still a valid image.
	if img := drawChart(nil); img.Bounds().Dx() != chartW {
		t.Error("empty chart")
	}
}

// hasColour reports whether c appears in the plot area of img.
func hasColour(img image.Image, c color.RGBA) bool {
	for y := chartTop; y < chartH-chartBottom; y++ {
		for x := chartLeft; x < chartW-chartRight; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r>>8 == uint32(c.R) && g>>8 == uint32(c.G) && b>>8 == uint32(c.B) {
				return true
			}
		}
	}
	return false
}

func TestGlyphs(t *testing.T) {
	for r, g := range glyphs {
		rows := strings.Fields(g)
		if len(rows) != glyphH {
			t.Errorf("glyph %q has %d rows, want %d", r, len(rows), glyphH)
		}
		for _, row := range rows {
			if len(row) != glyphW || strings.Trim(row, ".#") != "" {
				t.Errorf("glyph %q row %q", r, row)
			}
		}
	}
	if textWidth("AB", 2) != 14 || textWidth("", 2) != 0 {
		t.Error("textWidth")
	}
}
