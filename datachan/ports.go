package datachan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
)

// ErrNoPort is returned by Ports.Reserve when every port of the range is reserved.
var ErrNoPort = errors.New("datachan: no free data port")

// Ports hands out data ports from [Min, Max] so that no two live reservations share a port
// (across sessions); Release returns one. Safe for concurrent use. Allocation starts at a
// random offset and scans (so ports are not predictable); Reserve fails with ErrNoPort when
// all are taken.
type Ports struct {
	min uint16

	mu    sync.Mutex
	taken []bool // taken[i] reports whether port min+i is reserved
	inUse int
}

// NewPorts returns an allocator for the ports min through max inclusive. It requires
// min <= max and min >= 1024 (data ports below 1024 are never used).
func NewPorts(min, max uint16) (*Ports, error) {
	if min < 1024 {
		return nil, fmt.Errorf("datachan: data port range %d-%d: ports below 1024 are not allowed", min, max)
	}
	if min > max {
		return nil, fmt.Errorf("datachan: data port range %d-%d: minimum above maximum", min, max)
	}
	return &Ports{min: min, taken: make([]bool, int(max)-int(min)+1)}, nil
}

// Reserve returns a port no live reservation holds and marks it reserved until Release. It
// fails with ErrNoPort when the whole range is reserved.
func (p *Ports) Reserve() (uint16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.taken)
	if p.inUse == n {
		return 0, fmt.Errorf("%w: all %d ports of %d-%d reserved", ErrNoPort, n, p.min, int(p.min)+n-1)
	}
	start := rand.IntN(n)
	for i := range n {
		j := (start + i) % n
		if !p.taken[j] {
			p.taken[j] = true
			p.inUse++
			return p.min + uint16(j), nil
		}
	}
	// Unreachable while inUse counts the taken slots.
	return 0, fmt.Errorf("%w: allocator state inconsistent", ErrNoPort)
}

// Release returns port to the pool. Releasing a port that is not reserved, or outside the
// range, does nothing.
func (p *Ports) Release(port uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if port < p.min || int(port-p.min) >= len(p.taken) {
		return
	}
	if i := int(port - p.min); p.taken[i] {
		p.taken[i] = false
		p.inUse--
	}
}

// InUse reports how many ports are reserved.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}
