package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// TestTableLoss: the nftables table flushed or deleted under a running gateway is detected
// within seconds, logged as an error and rebuilt, and the next transfer is intercepted again
// (it leaves a transfer record); with -on-table-loss exit the gateway stops with status 1.
func TestTableLoss(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small}, "--table-check", "200ms")
	ctx := b.ctx(t)
	for i, loss := range [][]string{
		{"flush", "chain", "inet", table, "prerouting"},
		{"delete", "table", "inet", table},
		{"flush", "ruleset"}, // last: it also removes the test bed's forward-drop table
	} {
		restored := len(b.gw.Logs("nftables table restored"))
		if _, stderr, err := b.tp.Exec(ctx, b.tp.GW, "nft", loss...); err != nil {
			t.Fatalf("nft %v: %v %s", loss, err, stderr)
		}
		ok := false
		for j := 0; j < 100 && !ok; j++ { // at most 10 s
			ok = len(b.gw.Logs("nftables table restored")) > restored
			time.Sleep(100 * time.Millisecond)
		}
		if !ok {
			t.Fatalf("nft %v: the table was not restored:\n%s", loss, tail(b.gw.LogText(), 10))
		}
		if len(b.gw.Logs("nftables table lost: interception stopped; restoring it")) <= restored {
			t.Errorf("nft %v: the loss was not logged", loss)
		}
		name := fmt.Sprintf("%s/after-loss-%d.bin", b.tp.Dir, i)
		records := len(b.gw.Logs("transfer"))
		if tr, err := scenario.Curl(ctx, b.tp, scenario.EPSV, "-o", name, scenario.URL(b.srv, b.tp.ServerV4, "small.bin")); err != nil {
			t.Fatalf("nft %v: transfer after the restore: %v\n%s", loss, err, tail(tr, 20))
		}
		if sha(t, name) != b.sums["small.bin"] {
			t.Fatalf("nft %v: checksum differs", loss)
		}
		if _, ok := b.gw.WaitRecord(func(r scenario.Record) bool { return strings.HasSuffix(r.Arg, "small.bin") }); !ok || len(b.gw.Logs("transfer")) <= records {
			t.Errorf("nft %v: the transfer after the restore was not intercepted (no record)", loss)
		}
	}
}

// TestTableLossExit: with -on-table-loss exit, a deleted table stops the gateway with
// status 1 and an error line.
func TestTableLossExit(t *testing.T) {
	b := newBed(t, nil)
	if err := b.gw.Stop(); err != nil { // this test runs its own gateway, which must fail
		t.Fatal(err)
	}
	gw, err := startGateway(b.ctx(t), b.tp, "--table-check", "200ms", "--on-table-loss", "exit")
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := b.tp.Exec(b.ctx(t), b.tp.GW, "nft", "delete", "table", "inet", table); err != nil {
		t.Fatalf("nft delete table: %v %s", err, stderr)
	}
	select {
	case <-gw.Proc.Done():
	case <-time.After(10 * time.Second):
		gw.Stop()
		t.Fatalf("the gateway did not stop after losing its table:\n%s", tail(gw.LogText(), 10))
	}
	if err := gw.Proc.Err(); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("exit: %v, want status 1", err)
	}
	if len(gw.Logs("nftables table lost: interception stopped; exiting")) != 1 {
		t.Errorf("no error line for the loss:\n%s", tail(gw.LogText(), 10))
	}
}
