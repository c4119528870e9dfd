package datachan

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestNewPortsRanges(t *testing.T) {
	for _, tc := range []struct {
		min, max uint16
		ok       bool
	}{
		{40000, 41000, true},
		{1024, 1024, true},
		{1024, 65535, true},
		{65535, 65535, true},
		{0, 0, false},
		{1, 2000, false},
		{1023, 2000, false},
		{41000, 40000, false},
		{2000, 1999, false},
	} {
		p, err := NewPorts(tc.min, tc.max)
		if (err == nil) != tc.ok {
			t.Errorf("NewPorts(%d, %d) error %v, want ok=%v", tc.min, tc.max, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		port, err := p.Reserve()
		if err != nil || port < tc.min || port > tc.max {
			t.Errorf("NewPorts(%d, %d).Reserve() = %d, %v", tc.min, tc.max, port, err)
		}
	}
}

// TestPortsExhaustReleaseReuse reserves a whole range, checks each port comes out once, that
// the next Reserve fails, and that a released port is the one handed out next.
func TestPortsExhaustReleaseReuse(t *testing.T) {
	for _, tc := range []struct{ min, max uint16 }{
		{40000, 40000},
		{40000, 40015},
		{65500, 65535}, // the top of the range must not wrap around
	} {
		p, err := NewPorts(tc.min, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		size := int(tc.max) - int(tc.min) + 1
		seen := make(map[uint16]bool)
		for range size {
			port, err := p.Reserve()
			if err != nil {
				t.Fatalf("%d-%d: Reserve after %d: %v", tc.min, tc.max, len(seen), err)
			}
			if port < tc.min || port > tc.max || seen[port] {
				t.Fatalf("%d-%d: Reserve = %d (out of range or a duplicate)", tc.min, tc.max, port)
			}
			seen[port] = true
		}
		if got := p.InUse(); got != size {
			t.Fatalf("%d-%d: InUse = %d, want %d", tc.min, tc.max, got, size)
		}
		if port, err := p.Reserve(); !errors.Is(err, ErrNoPort) {
			t.Fatalf("%d-%d: Reserve on a full range = %d, %v; want ErrNoPort", tc.min, tc.max, port, err)
		}
		// Releasing what is not reserved changes nothing.
		p.Release(tc.min - 1)
		if tc.max < 65535 {
			p.Release(tc.max + 1)
		}
		if got := p.InUse(); got != size {
			t.Fatalf("%d-%d: InUse after foreign releases = %d, want %d", tc.min, tc.max, got, size)
		}
		p.Release(tc.max)
		p.Release(tc.max) // twice: the second does nothing
		if got := p.InUse(); got != size-1 {
			t.Fatalf("%d-%d: InUse after Release = %d, want %d", tc.min, tc.max, got, size-1)
		}
		if port, err := p.Reserve(); err != nil || port != tc.max {
			t.Fatalf("%d-%d: Reserve after releasing %d = %d, %v", tc.min, tc.max, tc.max, port, err)
		}
		if _, err := p.Reserve(); !errors.Is(err, ErrNoPort) {
			t.Fatalf("%d-%d: Reserve on a full range again: %v, want ErrNoPort", tc.min, tc.max, err)
		}
	}
}

// TestPortsConcurrent has many goroutines reserve at once, some releasing and re-reserving so
// that releases race with reservations; no port may be held twice. Run it with -race.
func TestPortsConcurrent(t *testing.T) {
	const workers, each = 16, 60
	p, err := NewPorts(40000, 41000) // 1001 ports, 960 held at the end
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		held = make(map[uint16]int)
		errs []error
	)
	// take reserves a port and records it; it reports whether the reservation succeeded.
	take := func() (uint16, bool) {
		port, err := p.Reserve()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return 0, false
		}
		if held[port]++; held[port] > 1 {
			errs = append(errs, fmt.Errorf("port %d handed out while held", port))
		}
		return port, true
	}
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				port, ok := take()
				if !ok {
					return
				}
				if (w+i)%3 == 0 {
					mu.Lock()
					held[port]--
					mu.Unlock()
					p.Release(port)
					if _, ok := take(); !ok {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d failures, first: %v", len(errs), errs[0])
	}
	n := 0
	for _, c := range held {
		n += c
	}
	if n != workers*each || p.InUse() != n {
		t.Fatalf("held %d ports, InUse %d, want %d", n, p.InUse(), workers*each)
	}
}

// TestPortsStartAtRandom checks that fresh allocators do not all hand out the same first port
// (a sequential allocator would; a random start repeats with probability 1001^-31).
func TestPortsStartAtRandom(t *testing.T) {
	first := make(map[uint16]bool)
	for range 32 {
		p, err := NewPorts(40000, 41000)
		if err != nil {
			t.Fatal(err)
		}
		port, err := p.Reserve()
		if err != nil {
			t.Fatal(err)
		}
		first[port] = true
	}
	if len(first) < 2 {
		t.Fatalf("32 fresh allocators all started at %v", first)
	}
}
