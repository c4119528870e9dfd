package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

func TestParseRows(t *testing.T) {
	rows, err := parseRows("forwarding, proxied,kernel")
	if err != nil || rows != (rowSet{rowForward: true, rowProxy: true, rowKernel: true}) {
		t.Errorf("parseRows = %v, %v", rows, err)
	}
	if rows, err := parseRows("observe,icap"); err != nil || rows != (rowSet{rowObserve: true, rowICAP: true}) {
		t.Errorf("parseRows(observe,icap) = %v, %v", rows, err)
	}
	if rows, err := parseRows("kernel,queued"); err != nil || rows != (rowSet{rowKernel: true, rowQueued: true}) {
		t.Errorf("parseRows(kernel,queued) = %v, %v", rows, err)
	}
	var every rowSet
	for i := range every {
		every[i] = true
	}
	for _, in := range []string{"", "all", " all "} {
		if rows, err := parseRows(in); err != nil || rows != every {
			t.Errorf("parseRows(%q) = %v, %v; want every row", in, rows, err)
		}
	}
	for _, in := range []string{"forward", ",", "kernel,x", "nfqueue"} {
		if _, err := parseRows(in); err == nil || !strings.Contains(err.Error(), "-rows") {
			t.Errorf("parseRows(%q) = %v, want an error naming -rows", in, err)
		}
	}
}

func TestParseMeasures(t *testing.T) {
	m, err := parseMeasures("mirror,setups")
	if err != nil || !m[measMirror] || !m[measSetups] || m[measTransfer] || m[measRSS] {
		t.Errorf("parseMeasures = %v, %v", m, err)
	}
	if _, err := parseMeasures("pasv"); err == nil || !strings.Contains(err.Error(), "transfer,noop,logins,mirror,setups,rss") {
		t.Errorf("parseMeasures(pasv) = %v, want the known keys listed", err)
	}
	if rowKeys()[rowFTPSGate] != "ftps-gw" || rowKeys()[rowQueued] != "queued" || !(rowSet{rowHelper: true}).has(rowForward, rowHelper) {
		t.Error("rowKeys or has")
	}
}

func TestParseFlags(t *testing.T) {
	c, code := parseFlags([]string{"-bench", "-rows", "kernel", "-measure", "mirror,rss", "-sessions", "", "-mirror-files", "20"}, io.Discard)
	if c.rows[rowQueued] {
		t.Error("-rows kernel selected the packet filter row too")
	}
	if code != -1 || !c.rows[rowKernel] || c.rows[rowForward] || !c.measure[measMirror] || c.measure[measRSS] || c.mirrorFiles != 20 {
		t.Errorf("parseFlags = %+v, %d; want kernel only, mirror of 20 (rss off without sessions)", c, code)
	}
	if c, _ := parseFlags([]string{"-mirror-files", "0"}, io.Discard); c.measure[measMirror] || !c.measure[measSetups] {
		t.Errorf("-mirror-files 0: measure %v, want mirror off", c.measure)
	}
	for _, args := range [][]string{{"-rows", "nope"}, {"-measure", "x,"}, {"-mirror-files", "-1"}, {"-runs", "0"}} {
		if _, code := parseFlags(args, io.Discard); code != exitUsage {
			t.Errorf("parseFlags(%q) = %d, want %d", args, code, exitUsage)
		}
	}
}

func TestApplies(t *testing.T) {
	for _, tc := range []struct {
		m    measureID
		id   rowID
		want bool
	}{{measSetups, rowKernel, true}, {measSetups, rowFTPSFwd, false}, {measMirror, rowFTPSGate, true},
		{measRSS, rowForward, false}, {measRSS, rowFTPSGate, true}, {measNoop, rowHelper, true},
		// The inspection rows measure transfers only.
		{measTransfer, rowObserve, true}, {measTransfer, rowICAP, true}, {measNoop, rowObserve, false},
		{measLogins, rowICAP, false}, {measMirror, rowObserve, false}, {measSetups, rowICAP, false},
		{measRSS, rowObserve, false}, {measRSS, rowICAP, false},
		// So does the packet filter row; the kernel row everything.
		{measTransfer, rowQueued, true}, {measNoop, rowQueued, false}, {measLogins, rowQueued, false},
		{measMirror, rowQueued, false}, {measSetups, rowQueued, false}, {measRSS, rowQueued, false},
		{measMirror, rowKernel, true}, {measRSS, rowKernel, true}} {
		if got := applies(tc.m, tc.id); got != tc.want {
			t.Errorf("applies(%s, %s) = %v", measureKeys[tc.m], rowSpecs[tc.id].key, got)
		}
	}
}

func TestRateCellAndNotes(t *testing.T) {
	if got := (rateResult{}).cell("%.0f"); got != dash {
		t.Errorf("empty cell %q", got)
	}
	if got := (rateResult{vals: []float64{3, 1, 2}, fail: "lftp failed"}).cell("%.0f"); got != "error: lftp failed" {
		t.Errorf("failed cell %q", got)
	}
	if pasvNote(`425 Security: Bad IP connecting.`) != "reply 425" || pasvNote("") != "no reply" {
		t.Error("pasvNote")
	}
	var ce *cellError
	err := fmt.Errorf("wrapped: %w", &cellError{note: "n", err: errors.New("x")})
	if !errors.As(err, &ce) || ce.note != "n" || err.Error() != "wrapped: n: x" {
		t.Errorf("cellError %v", err)
	}
	if h := benchHeadline(config{measure: measureSet{measMirror: true, measSetups: true}, mirrorFiles: 7}); h != "lftp mirror of 7 1-KiB files, PASV/s on 16 sessions" {
		t.Errorf("headline %q", h)
	}
}

func TestMirrorFilesAndCheck(t *testing.T) {
	root := t.TempDir()
	b := &bed{srv: &testbed.FTPServer{Root: root}}
	if err := makeMirrorFiles(b, 30); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, mirrorDir)
	if err := checkMirrored(dir, 30); err != nil {
		t.Errorf("checkMirrored on the source: %v", err)
	}
	first, err := os.ReadFile(filepath.Join(dir, mirrorName(7)))
	if err != nil || !strings.HasPrefix(string(first), "small-000007") {
		t.Errorf("file 7 starts %.20q, %v", first, err)
	}
	if err := os.Truncate(filepath.Join(dir, mirrorName(3)), 10); err != nil {
		t.Fatal(err)
	}
	var ce *cellError
	if err := checkMirrored(dir, 30); !errors.As(err, &ce) || ce.note != "29 of 30 files" {
		t.Errorf("checkMirrored with a short file = %v", err)
	}
	if err := checkMirrored(filepath.Join(root, "none"), 30); !errors.As(err, &ce) || ce.note != "no files" {
		t.Errorf("checkMirrored without the directory = %v", err)
	}
}

func TestLftpDebugAndSettings(t *testing.T) {
	log := filepath.Join(t.TempDir(), "debug")
	write := func(s string) {
		if err := os.WriteFile(log, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.Repeat("---> EPSV\n<--- 229 ok\n", 3))
	if err := checkLftpDebug(log, 2, false); err != nil {
		t.Errorf("2 files and a listing over EPSV: %v", err)
	}
	if err := checkLftpDebug(log, 2, true); err == nil {
		t.Error("FTPS without PROT P accepted")
	}
	write("---> EPSV\n---> EPSV\n---> PASV\n---> EPSV\n")
	if err := checkLftpDebug(log, 2, false); err == nil {
		t.Error("a PASV accepted")
	}
	plain, tls := lftpMirrorSettings(""), lftpMirrorSettings("/ca.pem")
	if !strings.Contains(plain, "set ftp:prefer-epsv yes") || !strings.Contains(plain, "set ftp:ssl-allow no") {
		t.Errorf("plain settings %q", plain)
	}
	if !strings.Contains(tls, "set ftp:ssl-force yes") || !strings.Contains(tls, "set ssl:ca-file /ca.pem") {
		t.Errorf("FTPS settings %q", tls)
	}
}

func TestCountMirrorRecords(t *testing.T) {
	recs := []scenario.Record{
		{Command: "RETR", Arg: "mirror-src/small-000001", Reply: 226, BytesToClient: 1024, Path: "proxy"},
		{Command: "RETR", Arg: "small-000002", Reply: 226, BytesToClient: 1030, BytesEstimated: true, Path: "kernel"},
		{Command: "RETR", Arg: "small-000003", Reply: 426, BytesToClient: 512, Path: "kernel"},
		{Command: "RETR", Arg: "bench.bin", Reply: 226, BytesToClient: 1024},
		{Command: "LIST", Arg: "small-x", Reply: 226},
	}
	ok, bad, paths := countMirrorRecords(recs)
	if ok != 2 || bad != 1 || paths != "kernel 2, proxy 1" {
		t.Errorf("countMirrorRecords = %d, %d, %q; want 2, 1, kernel 2, proxy 1", ok, bad, paths)
	}
}
