package datachan

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/nft"
)

// TestGuardRestores: a lost table is rebuilt with the live expectations, and logged; in exit
// mode the loss ends Run with ErrTableLost.
func TestGuardRestores(t *testing.T) {
	ctx := context.Background()
	f, reg := newFakeRegistry(t, 30*time.Second)
	if err := reg.Expect(ctx, 1, nft.Element{Src: client, Dst: server, Port: 40001}, func(*net.TCPConn) {}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	g := &Guard{Installer: f, Registry: reg, Interval: time.Millisecond, Restore: true, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := g.check(ctx); err != nil || logs.Len() != 0 {
		t.Fatalf("check of a whole table: %v, logged %q", err, logs.String())
	}
	f.Lose()
	if err := g.check(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := elementsOf(t, f), "198.51.100.2 . 203.0.113.2 . 40001 timeout 30s"; got != want {
		t.Fatalf("after the restore: elements %q, want %q", got, want)
	}
	for _, want := range []string{"nftables table lost", "nftables table restored", "expectations=1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	g.Restore = false
	f.Lose()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.Run(rctx); !errors.Is(err, ErrTableLost) {
		t.Fatalf("Run in exit mode: %v, want ErrTableLost", err)
	}
}
