package pktfilter

import (
	"math"
	"math/bits"
	"time"
)

// Bucket is a token bucket in bytes per second: it tells how long a packet must wait before
// it may pass.
//
// It keeps its debt in units of a billionth of a byte (a byte is 1e9 units, a nanosecond
// gives back rate units), so that rates that do not divide a second evenly lose nothing to
// rounding however many packets pass.
type Bucket struct {
	rate  int64     // bytes per second; 0: no limit
	tau   int64     // the burst, in units
	debt  int64     // units taken and not yet given back, as of last (0: the bucket is full)
	last  time.Time // the latest time Take was given
	begun bool      // last is set
}

// unitsPerByte is the units of a byte: a byte takes 1e9/rate nanoseconds.
const unitsPerByte = int64(time.Second)

// NewBucket returns a bucket of rate bytes per second (rate <= 0: no limit, every packet
// passes at once) that lets burst bytes pass at once after a quiet time; it starts full.
// A burst beyond about 9.2 GB counts as that much.
func NewBucket(rate, burst int64) *Bucket {
	b := &Bucket{rate: max(rate, 0)}
	b.tau = min(max(burst, 0), math.MaxInt64/unitsPerByte) * unitsPerByte
	return b
}

// Take reserves n bytes at now and returns how long the packet must wait for them (0: at
// once). When that wait would be longer than max, it reserves nothing and returns ok false:
// the packet is to be dropped (wait then says how long it would have waited).
//
// Waits accumulate: a packet taken while the bucket is in debt waits for the debt and its
// own bytes, so packets that wait leave in the order they came. A now before the latest
// now seen counts as that one (a clock that goes back gives nothing back). n <= 0 reserves
// nothing and tells the wait of the debt so far.
func (b *Bucket) Take(now time.Time, n int, max time.Duration) (wait time.Duration, ok bool) {
	if b.rate == 0 {
		return 0, true
	}
	b.refill(now)
	debt, fits := b.add(int64(n))
	if !fits {
		return math.MaxInt64, false
	}
	wait = b.waitFor(debt)
	if wait > max {
		return wait, false
	}
	b.debt = debt
	return wait, true
}

// refill gives back what the time since the last Take earned.
func (b *Bucket) refill(now time.Time) {
	if !b.begun {
		b.last, b.begun = now, true
		return
	}
	d := now.Sub(b.last)
	if d <= 0 {
		return
	}
	b.last = now
	if int64(d) > b.debt/b.rate { // all of it (and the product below would not fit)
		b.debt = 0
		return
	}
	b.debt -= int64(d) * b.rate
}

// add returns the debt with n more bytes, and whether it fits in an int64.
func (b *Bucket) add(n int64) (int64, bool) {
	if n <= 0 {
		return b.debt, true
	}
	hi, lo := bits.Mul64(uint64(n), uint64(unitsPerByte))
	if hi != 0 || lo > math.MaxInt64-uint64(b.debt) {
		return 0, false
	}
	return b.debt + int64(lo), true
}

// waitFor is how long a debt takes to come down to the burst, in whole nanoseconds
// rounded up (a packet never leaves early).
func (b *Bucket) waitFor(debt int64) time.Duration {
	over := debt - b.tau
	if over <= 0 {
		return 0
	}
	w := over / b.rate
	if over%b.rate != 0 {
		w++
	}
	return time.Duration(w)
}
