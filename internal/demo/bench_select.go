package main

import (
	"fmt"
	"slices"
	"strings"
)

// measureID names one measurement of the bench: a group of columns that -measure selects.
type measureID int

// The measurements, in the order a run makes them.
const (
	measTransfer measureID = iota // RETR and STOR with curl, their ratios, CPU s/GiB
	measNoop                      // NOOP round trips
	measLogins                    // logins per second at each concurrency
	measMirror                    // small-file mirror with lftp, files per second
	measSetups                    // PASV replies (data channels set up) per second
	measRSS                       // ftpgate's memory per idle session
	numMeasures
)

// measureKeys are the -measure keys, indexed by measureID.
var measureKeys = [numMeasures]string{
	measTransfer: "transfer",
	measNoop:     "noop",
	measLogins:   "logins",
	measMirror:   "mirror",
	measSetups:   "setups",
	measRSS:      "rss",
}

// rowSet says which rows -rows selected, indexed by rowID.
type rowSet [numRows]bool

// measureSet says which measurements -measure selected, indexed by measureID.
type measureSet [numMeasures]bool

// rowKeys are the -rows keys, in table order.
func rowKeys() []string {
	keys := make([]string, numRows)
	for i, s := range rowSpecs {
		keys[i] = s.key
	}
	return keys
}

// parseRows parses -rows: comma-separated row keys, or "all" (or nothing) for every row.
func parseRows(s string) (rowSet, error) {
	var set rowSet
	sel, err := parseKeys(s, rowKeys())
	if err != nil {
		return set, fmt.Errorf("-rows: %w", err)
	}
	copy(set[:], sel)
	return set, nil
}

// parseMeasures parses -measure: comma-separated measurement keys, or "all" (or nothing) for
// every measurement.
func parseMeasures(s string) (measureSet, error) {
	var set measureSet
	sel, err := parseKeys(s, measureKeys[:])
	if err != nil {
		return set, fmt.Errorf("-measure: %w", err)
	}
	copy(set[:], sel)
	return set, nil
}

// parseKeys returns which of keys the comma-separated list s names: all of them for "" or
// "all"; an unknown key is an error that lists the known ones.
func parseKeys(s string, keys []string) ([]bool, error) {
	sel := make([]bool, len(keys))
	if t := strings.TrimSpace(s); t == "" || t == "all" {
		for i := range sel {
			sel[i] = true
		}
		return sel, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		i := slices.Index(keys, f)
		if i < 0 {
			return nil, fmt.Errorf("unknown key %q (known: %s, or all)", f, strings.Join(keys, ","))
		}
		sel[i] = true
	}
	if !slices.Contains(sel, true) {
		return nil, fmt.Errorf("%q names nothing (known: %s, or all)", s, strings.Join(keys, ","))
	}
	return sel, nil
}

// has reports whether the set selects at least one of ids.
func (s rowSet) has(ids ...rowID) bool {
	for _, id := range ids {
		if s[id] {
			return true
		}
	}
	return false
}

// applies reports whether measurement m is made on row id: only the transfers on the
// inspection rows; elsewhere mirror and PASV set-ups on every plain row and (mirror only) the
// FTPS rows, memory on gateway rows only, the rest everywhere.
func applies(m measureID, id rowID) bool {
	if rowSpecs[id].transferOnly {
		return m == measTransfer
	}
	switch m {
	case measSetups:
		return !rowSpecs[id].tls
	case measRSS:
		return rowSpecs[id].gateway
	}
	return true
}
