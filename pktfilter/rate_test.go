package pktfilter

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// simulate offers a packet of size bytes every gap for dur and returns the bytes that left
// within dur (at their time plus their wait) and the packets dropped; it fails when packets
// would leave out of order.
func simulate(t *testing.T, b *Bucket, size int, gap, dur, max time.Duration) (passed int64, dropped int) {
	t.Helper()
	var lastOut time.Time
	for now := t0; now.Before(at(dur)); now = now.Add(gap) {
		wait, ok := b.Take(now, size, max)
		if !ok {
			dropped++
			continue
		}
		if wait < 0 || wait > max {
			t.Fatalf("wait %v (max %v)", wait, max)
		}
		out := now.Add(wait)
		if out.Before(lastOut) {
			t.Fatalf("a packet taken at %v leaves at %v, before the one before it (%v)", now.Sub(t0), out.Sub(t0), lastOut.Sub(t0))
		}
		lastOut = out
		if !out.After(at(dur)) {
			passed += int64(size)
		}
	}
	return passed, dropped
}

func TestBucketSteady(t *testing.T) {
	tests := []struct {
		rate, burst int64
		size        int
		gap         time.Duration
	}{
		{1_000_000, 64 << 10, 1448, time.Millisecond},           // 1.448 MB/s offered
		{125_000_000, 256 << 10, 65536, 400 * time.Microsecond}, // 164 MB/s offered at a gigabit
		{999_983, 1 << 20, 65536, 40 * time.Millisecond},        // GSO packets, 1.6 MB/s offered
		{12_345, 0, 1, 50 * time.Microsecond},                   // no burst, 1-byte packets
	}
	for _, tt := range tests {
		b := NewBucket(tt.rate, tt.burst)
		const dur = time.Minute
		passed, dropped := simulate(t, b, tt.size, tt.gap, dur, 200*time.Millisecond)
		want := float64(tt.rate)*dur.Seconds() + float64(tt.burst)
		if math.Abs(float64(passed)-want) > want/100 {
			t.Errorf("rate %d burst %d: %d bytes passed in a minute, want %.0f ±1%%", tt.rate, tt.burst, passed, want)
		}
		if dropped == 0 {
			t.Errorf("rate %d: nothing dropped though the offer is over the rate", tt.rate)
		}
	}
}

// TestBucketExact checks that a rate that does not divide a second loses nothing to
// rounding: 333 B/s of 1-byte packets for a minute.
func TestBucketExact(t *testing.T) {
	b := NewBucket(333, 10)
	passed, _ := simulate(t, b, 1, time.Millisecond, time.Minute, time.Second)
	if want := int64(333*60 + 10); passed < want-1 || passed > want {
		t.Errorf("%d bytes passed, want %d", passed, want)
	}
	b = NewBucket(3, 0) // a byte is 333333333.3ns: waits round up, debts do not
	for i, want := range []time.Duration{333333334, 666666667, time.Second, 1333333334} {
		if wait, ok := b.Take(t0, 1, time.Minute); !ok || wait != want {
			t.Errorf("byte %d: %v %v, want %v", i, wait, ok, want)
		}
	}
}

func TestBucketUnder(t *testing.T) {
	b := NewBucket(1_000_000, 10_000)
	passed, dropped := simulate(t, b, 1000, 2*time.Millisecond, time.Minute, 0) // half the rate
	if dropped != 0 || passed != 30_000_000 {
		t.Errorf("under the rate: %d passed, %d dropped", passed, dropped)
	}
}

func TestBucketBurst(t *testing.T) {
	b := NewBucket(1000, 10_000)
	steps := []struct {
		at   time.Duration
		n    int
		wait time.Duration
	}{
		{0, 10_000, 0},           // the whole burst at once
		{0, 1, time.Millisecond}, // then the rate
		{0, 999, time.Second},    // the debt and its own bytes
		{time.Second, 0, 0},      // paid off a second later
		{time.Second, 500, 500 * time.Millisecond},
		{time.Minute, 10_000, 0}, // quiet: the burst again, not more
		{time.Minute, 3, 3 * time.Millisecond},
		{time.Minute + time.Millisecond, 1, 3 * time.Millisecond},
	}
	for i, s := range steps {
		wait, ok := b.Take(at(s.at), s.n, time.Hour)
		if !ok || wait != s.wait {
			t.Fatalf("step %d: Take(%v, %d) = %v %v, want %v", i, s.at, s.n, wait, ok, s.wait)
		}
	}
}

func TestBucketMax(t *testing.T) {
	b := NewBucket(1000, 1000)
	if wait, ok := b.Take(t0, 1000, 0); !ok || wait != 0 {
		t.Fatalf("the burst: %v %v", wait, ok)
	}
	if wait, ok := b.Take(t0, 500, 100*time.Millisecond); ok || wait != 500*time.Millisecond {
		t.Fatalf("over max: %v %v, want 500ms false", wait, ok)
	}
	if wait, ok := b.Take(t0, 100, 100*time.Millisecond); !ok || wait != 100*time.Millisecond {
		t.Fatalf("after a drop: %v %v, want 100ms: the dropped packet reserved nothing", wait, ok)
	}
	if wait, ok := b.Take(t0, 1, 100*time.Millisecond); ok || wait != 101*time.Millisecond {
		t.Fatalf("just over max: %v %v", wait, ok)
	}
	if wait, ok := b.Take(t0, math.MaxInt, time.Hour); ok || wait <= time.Hour {
		t.Fatalf("huge packet: %v %v", wait, ok)
	}
	if wait, ok := b.Take(t0, 0, time.Second); !ok || wait != 100*time.Millisecond {
		t.Fatalf("after the huge packet: %v %v", wait, ok)
	}
}

// TestBucketLarge takes packets larger than the burst.
func TestBucketLarge(t *testing.T) {
	b := NewBucket(1000, 1000)
	if wait, ok := b.Take(t0, 3000, 5*time.Second); !ok || wait != 2*time.Second {
		t.Fatalf("3000 bytes: %v %v, want 2s", wait, ok)
	}
	if wait, ok := b.Take(at(2*time.Second), 1000, 5*time.Second); !ok || wait != time.Second {
		t.Fatalf("then 1000: %v %v, want 1s", wait, ok)
	}
	b = NewBucket(1000, 1000)
	if _, ok := b.Take(t0, 3000, time.Second); ok {
		t.Fatal("3000 bytes with a max of 1s passed")
	}
	if wait, ok := b.Take(t0, 1000, 0); !ok || wait != 0 {
		t.Fatalf("after the drop the burst is whole: %v %v", wait, ok)
	}
}

func TestBucketClockBack(t *testing.T) {
	b := NewBucket(1000, 1000)
	steps := []struct {
		at   time.Duration
		n    int
		wait time.Duration
	}{
		{10 * time.Second, 2000, time.Second},
		{5 * time.Second, 0, time.Second},  // back: counts as 10s
		{10 * time.Second, 0, time.Second}, // forward to 10s again: nothing earned
		{10*time.Second + 500*time.Millisecond, 0, 500 * time.Millisecond},
		{-time.Hour, 100, 600 * time.Millisecond}, // far back: no refill, no panic
		{20 * time.Second, 1000, 0},               // forward: full again
	}
	for i, s := range steps {
		wait, ok := b.Take(at(s.at), s.n, time.Minute)
		if !ok || wait != s.wait {
			t.Fatalf("step %d: Take(%v, %d) = %v %v, want %v", i, s.at, s.n, wait, ok, s.wait)
		}
	}
}

func TestBucketEdges(t *testing.T) {
	for _, rate := range []int64{0, -5} {
		b := NewBucket(rate, 0)
		for range 3 {
			if wait, ok := b.Take(t0, 1<<30, 0); !ok || wait != 0 {
				t.Errorf("rate %d: %v %v", rate, wait, ok)
			}
		}
	}
	b := NewBucket(1, math.MaxInt64) // the burst is clamped, not overflowed
	if wait, ok := b.Take(t0, 1<<30, 0); !ok || wait != 0 {
		t.Errorf("huge burst: %v %v", wait, ok)
	}
	b = NewBucket(1<<40, -1)                                            // a fast rate, no burst
	if wait, ok := b.Take(t0, 1<<20, time.Second); !ok || wait != 954 { // 2^20 bytes at 2^40 B/s: 953.67ns, rounded up
		t.Errorf("fast rate: %v %v", wait, ok)
	}
	if wait, ok := b.Take(at(time.Duration(math.MaxInt64)), 0, 0); !ok || wait != 0 {
		t.Errorf("after a long time: %v %v", wait, ok)
	}
}

func BenchmarkTake(b *testing.B) {
	bk := NewBucket(125_000_000, 1<<20)
	now := t0
	for b.Loop() {
		now = now.Add(10 * time.Microsecond)
		bk.Take(now, 1448, 200*time.Millisecond)
	}
}
