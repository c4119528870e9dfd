package main

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// recordWait bounds the wait for the gateway's transfer records.
const recordWait = 5 * time.Second

// records waits (bounded) until the gateway has logged a record for every expected transfer,
// prints the records as a table and returns what is wrong with them (nothing when all match).
func records(ctx context.Context, p *printer, g *scenario.Gateway, tp *testbed.Topology, exp []expect) []string {
	recs := waitRecords(ctx, g, exp)
	p.step("transfer records: %d logged by ftpgate (JSON log, msg \"transfer\")", len(recs))
	printRecords(p, recs, exp)
	var problems []string
	for _, e := range exp {
		var found []scenario.Record
		for _, r := range recs {
			if r.Command == e.command && r.Arg == e.arg {
				found = append(found, r)
			}
		}
		if len(found) != 1 {
			problems = append(problems, fmt.Sprintf("%s %s %s: %d records, want 1", e.leg, e.command, e.arg, len(found)))
			continue
		}
		if why := checkRecord(found[0], e, tp); why != "" {
			problems = append(problems, fmt.Sprintf("%s %s %s: %s", e.leg, e.command, e.arg, why))
		}
	}
	return problems
}

// waitRecords polls the gateway's log until every expected transfer has a record, ctx ends
// or recordWait passes, and returns the records it has then.
func waitRecords(ctx context.Context, g *scenario.Gateway, exp []expect) []scenario.Record {
	deadline := time.Now().Add(recordWait)
	for {
		recs := g.Records()
		if allRecorded(recs, exp) || time.Now().After(deadline) {
			return recs
		}
		select {
		case <-ctx.Done():
			return recs
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// allRecorded reports whether every expected transfer has a record.
func allRecorded(recs []scenario.Record, exp []expect) bool {
	for _, e := range exp {
		found := false
		for _, r := range recs {
			found = found || (r.Command == e.command && r.Arg == e.arg)
		}
		if !found {
			return false
		}
	}
	return true
}

// checkRecord compares a record with the transfer the demo made; "" means it matches.
func checkRecord(r scenario.Record, e expect, tp *testbed.Topology) string {
	client, server := tp.ClientV4, tp.ServerV4
	if e.leg.v6 {
		client, server = tp.ClientV6, tp.ServerV6
	}
	wantDir, got := "download", r.BytesToClient
	if e.command == "STOR" {
		wantDir, got = "upload", r.BytesToServer
	}
	switch {
	case r.Reply != 226:
		return fmt.Sprintf("reply %d, want 226", r.Reply)
	case r.DataError != "":
		return "data error: " + r.DataError
	case r.Direction != wantDir:
		return fmt.Sprintf("direction %q, want %q", r.Direction, wantDir)
	case got != e.bytes:
		return fmt.Sprintf("%d bytes, want %d", got, e.bytes)
	case r.Client != client.String():
		return fmt.Sprintf("client %s, want %s", r.Client, client)
	case r.Server != netip.AddrPortFrom(server, 21).String():
		return fmt.Sprintf("server %s, want %s", r.Server, netip.AddrPortFrom(server, 21))
	}
	return ""
}

// printRecords prints the records as a compact table. The mode column comes from the demo's
// own bookkeeping (the record names the file, the demo knows which mode moved it).
func printRecords(p *printer, recs []scenario.Record, exp []expect) {
	mode := map[string]string{}
	for _, e := range exp {
		mode[e.command+" "+e.arg] = e.leg.String()
	}
	const row = "%4s  %-13s  %-20s  %-4s  %-16s  %-9s  %-8s  %9s  %7s  %5s"
	p.detail(row, "sess", "client", "server", "cmd", "arg", "mode", "dir", "bytes", "time", "reply")
	for _, r := range recs {
		n := r.BytesToClient
		if r.Direction == "upload" {
			n = r.BytesToServer
		}
		m := mode[r.Command+" "+r.Arg]
		if m == "" {
			m = "-"
		}
		reply := strconv.Itoa(r.Reply)
		if r.DataError != "" {
			reply += " (data error: " + r.DataError + ")"
		}
		p.detail(row, strconv.FormatUint(r.Session, 10), r.Client, r.Server, r.Command, r.Arg, m, r.Direction,
			strconv.FormatInt(n, 10), r.Duration, reply)
	}
}
