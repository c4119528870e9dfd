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

// TestGuardWaits: in wait mode (the operator's table) a lost table is logged at once and
// again after RemindEvery, nothing is rebuilt, and the live expectations, with their comments,
// are re-added once the operator's rule set is back.
func TestGuardWaits(t *testing.T) {
	ctx := context.Background()
	f, reg := newFakeRegistry(t, 30*time.Second)
	if err := f.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	el := nft.Element{Src: client, Dst: server, Port: 40001, Comment: "session 1 PASV"}
	if err := reg.Expect(ctx, 1, el, func(*net.TCPConn) {}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	g := &Guard{Installer: f, Registry: reg, Interval: time.Millisecond, Wait: true, RemindEvery: time.Nanosecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	f.Lose()
	for range 2 {
		if err := g.check(ctx); err != nil {
			t.Fatalf("check in wait mode: %v", err)
		}
	}
	if f.Text() != "" {
		t.Fatal("the guard rebuilt the operator's table")
	}
	for _, want := range []string{"nftables table lost: interception stopped; reload the operator's rule set", "nftables table still missing"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if err := f.Setup(ctx); err != nil { // the operator reloads the rule set
		t.Fatal(err)
	}
	if err := g.check(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := elementsOf(t, f), `198.51.100.2 . 203.0.113.2 . 40001 timeout 30s comment "session 1 PASV"`; got != want {
		t.Fatalf("after the table came back: elements %q, want %q", got, want)
	}
	if !strings.Contains(logs.String(), "nftables table back: interception resumed") {
		t.Errorf("log lacks the resumption:\n%s", logs.String())
	}
}

// TestGuardNudge: a nudge makes the guard check at once, long before its next tick; a closed
// Nudge leaves the ticks running.
func TestGuardNudge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, reg := newFakeRegistry(t, 30*time.Second)
	if err := f.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	nudge := make(chan struct{}, 1)
	g := &Guard{Installer: f, Registry: reg, Interval: time.Hour, Restore: true, Nudge: nudge, Log: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	f.Lose()
	nudge <- struct{}{}
	for f.Text() == "" && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if f.Text() == "" {
		t.Fatal("the nudge did not make the guard restore the table")
	}
	close(nudge)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
