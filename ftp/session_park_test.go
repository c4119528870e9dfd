package ftp

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/park"
)

// parkedHarness runs a harness session whose loops park after 30 ms of quiet.
func parkedHarness(t *testing.T, idle time.Duration) (*harness, *park.Poller) {
	t.Helper()
	p, err := park.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	cfg := Config{Spoof: true, Linger: 2 * time.Second, Park: p, ParkAfter: 30 * time.Millisecond, IdleTimeout: idle}
	hs := newHarnessWith(t, 30*time.Second, cfg, func(c *ftptest.Conn, line string) {
		if line == "STAT" { // answered late, after both loops parked again
			go func() {
				time.Sleep(300 * time.Millisecond)
				c.Reply("211 late")
			}()
			return
		}
		c.Reply("200 ok")
	})
	return hs, p
}

// waitParked waits up to 3 s until n loops are parked in p.
func waitParked(t *testing.T, p *park.Poller, n int) {
	t.Helper()
	for range 300 {
		if p.Parked() == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d loops parked, want %d", p.Parked(), n)
}

// loopGoroutines counts the goroutines that run a session's command or reply loop.
func loopGoroutines() int {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(stacks, "ftp.(*Session).commandLoop(") + strings.Count(stacks, "ftp.(*Session).replyLoop(")
}

// TestParkedSessionServes: an idle session holds no loop goroutine, and a command, a late
// reply and the client's close each wake it.
func TestParkedSessionServes(t *testing.T) {
	hs, p := parkedHarness(t, 0)
	waitParked(t, p, 2)
	if n := loopGoroutines(); n != 0 {
		t.Fatalf("%d loop goroutines while the session is idle, want 0", n)
	}
	for i := range 3 {
		if got := hs.cmd("NOOP"); got != "200 ok" {
			t.Fatalf("NOOP %d after parking: %q", i, got)
		}
		waitParked(t, p, 2)
	}
	// The server answers after both loops parked again: the reply wakes the reply loop.
	if got := hs.cmd("STAT"); got != "211 late" {
		t.Fatalf("late reply: %q", got)
	}
	waitParked(t, p, 2)
	hs.client.Close()
	hs.waitEnd()
	waitParked(t, p, 0)
}

// TestParkedSessionEnds: the idle timeout ends a session whose loops are both parked; both
// are started again to end, and nothing stays parked.
func TestParkedSessionEnds(t *testing.T) {
	hs, p := parkedHarness(t, 400*time.Millisecond)
	waitParked(t, p, 2)
	if got := hs.readReply(); !strings.HasPrefix(got, "421 ") {
		t.Fatalf("after the idle timeout: %q", got)
	}
	hs.waitEnd()
	waitParked(t, p, 0)
	if n := loopGoroutines(); n != 0 {
		t.Fatalf("%d loop goroutines after the session ended", n)
	}
}
