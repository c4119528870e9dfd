package pktfilter

// automaton is an Aho-Corasick automaton of the patterns. Its states are numbered breadth
// first; the first nDense of them (the shallowest, where a scan spends its time) have a
// dense row of 256 transitions each, the deeper ones their trie edges and a failure link,
// so that many long patterns do not need states x 256 transitions (256 patterns of 1024
// bytes would take 256 MiB).
type automaton struct {
	// delta holds the dense rows. An entry is t<<8 (the row's offset) for a next state t
	// that has a dense row and ends no pattern, the scan's fast path, and special|t for any
	// other t.
	delta  []uint32
	nDense int32
	out    []int32 // per state: the lowest index of the patterns that end there, or -1
	fail   []int32 // per state: the state of its longest proper suffix
	edgeAt []int32 // per state s: its trie edges are edgeB[edgeAt[s]:edgeAt[s+1]], edgeTo the same
	edgeB  []byte
	edgeTo []int32
}

// special marks the entries of automaton.delta that leave the fast path.
const special = 1 << 31

// denseStates bounds the states with dense rows (1 KiB each); a variable for the tests.
var denseStates int32 = 4096

// trieEdge is an edge of the trie buildAutomaton starts with.
type trieEdge struct {
	b  byte
	to int32
}

// buildAutomaton returns the automaton of pats (empty ones never match).
func buildAutomaton(pats [][]byte) *automaton {
	kids := [][]trieEdge{nil}
	own := []int32{-1}
	for i, q := range pats {
		s := int32(0)
		for _, c := range q {
			t := int32(-1)
			for _, e := range kids[s] {
				if e.b == c {
					t = e.to
					break
				}
			}
			if t < 0 {
				t = int32(len(kids))
				kids, own = append(kids, nil), append(own, -1)
				kids[s] = append(kids[s], trieEdge{c, t})
			}
			s = t
		}
		if len(q) > 0 && own[s] < 0 {
			own[s] = int32(i)
		}
	}
	a := &automaton{}
	a.order(kids, own)
	a.link()
	return a
}

// order numbers the trie's states breadth first and keeps their edges and patterns.
func (a *automaton) order(kids [][]trieEdge, own []int32) {
	n := len(kids)
	queue := make([]int32, 1, n) // the trie's numbers in the new order
	a.out = make([]int32, n)
	a.edgeAt = make([]int32, n+1)
	a.edgeB = make([]byte, 0, n-1)
	a.edgeTo = make([]int32, 0, n-1)
	for s := 0; s < len(queue); s++ { // queue grows as it goes
		old := queue[s]
		a.out[s] = own[old]
		a.edgeAt[s] = int32(len(a.edgeB))
		for _, e := range kids[old] {
			a.edgeB = append(a.edgeB, e.b)
			a.edgeTo = append(a.edgeTo, int32(len(queue)))
			queue = append(queue, e.to)
		}
	}
	a.edgeAt[n] = int32(len(a.edgeB))
}

// link sets the failure links, merges the patterns that end at a state's suffixes into its
// out, and fills the dense rows.
func (a *automaton) link() {
	n := int32(len(a.out))
	a.nDense = min(n, denseStates)
	a.fail = make([]int32, n)
	a.delta = make([]uint32, int(a.nDense)<<8) // plain state numbers until encoded below
	for s := range n {                         // breadth first: shallower states are done
		if s < a.nDense {
			row := a.delta[int(s)<<8 : int(s+1)<<8]
			if s != 0 {
				copy(row, a.delta[int(a.fail[s])<<8:])
			}
			for e := a.edgeAt[s]; e < a.edgeAt[s+1]; e++ {
				row[a.edgeB[e]] = uint32(a.edgeTo[e])
			}
		}
		for e := a.edgeAt[s]; e < a.edgeAt[s+1]; e++ {
			v := a.edgeTo[e]
			if s != 0 {
				a.fail[v] = a.step(a.fail[s], a.edgeB[e], false)
			}
			if o := a.out[a.fail[v]]; o >= 0 && (a.out[v] < 0 || o < a.out[v]) {
				a.out[v] = o
			}
		}
	}
	for i, t := range a.delta {
		if int32(t) >= a.nDense || a.out[t] >= 0 {
			a.delta[i] = special | t
		} else {
			a.delta[i] = t << 8
		}
	}
}

// step returns the state after s on byte b; encoded tells whether delta is encoded yet.
func (a *automaton) step(s int32, b byte, encoded bool) int32 {
	for s >= a.nDense {
		for e := a.edgeAt[s]; e < a.edgeAt[s+1]; e++ {
			if a.edgeB[e] == b {
				return a.edgeTo[e]
			}
		}
		s = a.fail[s]
	}
	t := a.delta[int(s)<<8|int(b)]
	switch {
	case !encoded:
		return int32(t)
	case t&special != 0:
		return int32(t &^ special)
	}
	return int32(t >> 8)
}

// scan runs the automaton from state s over p up to the first byte where a pattern ends:
// it returns the state after that byte, the byte's index in p and the pattern (the lowest
// index of those that end there); or the state after all of p, -1 and -1.
func (a *automaton) scan(s int32, p []byte) (int32, int, int32) {
	delta := a.delta
	for i := 0; i < len(p); i++ {
		if s < a.nDense {
			row, t := int(s)<<8, uint32(0)
			for ; i < len(p); i++ { // the fast path: dense states that end no pattern
				t = delta[row|int(p[i])]
				if t&special != 0 {
					break
				}
				row = int(t)
			}
			if i == len(p) {
				return int32(row >> 8), -1, -1
			}
			s = int32(t &^ special)
		} else {
			s = a.step(s, p[i], true)
		}
		if o := a.out[s]; o >= 0 {
			return s, i, o
		}
	}
	return s, -1, -1
}

// scanAll runs the automaton from state s over all of p; it returns the state after p and
// the first match's pattern and the index in p of its last byte (-1, -1: none).
func (a *automaton) scanAll(s int32, p []byte) (state int32, pat, end int) {
	s, i, o := a.scan(s, p)
	pat, end = int(o), i
	for i >= 0 { // take in the rest of p (matches there come later)
		p = p[i+1:]
		s, i, _ = a.scan(s, p)
	}
	return s, pat, end
}

// walks is how many walks scanSplit takes at once.
const walks = 4

// split is what scanSplit's walks have found.
type split struct {
	s   [walks]int32  // the walks' states
	p   [walks][]byte // the parts of the piece they walk, each n bytes (the last more)
	pat [walks]int    // each walk's first match's pattern (-1: none)
	end [walks]int    // and the index in the piece of its last byte
}

// scanSplit is scanAll as four walks at once, so that their table loads overlap (a single
// walk waits for each load before the next). Walk k runs over the n bytes from k*(n-w) on
// (the last one to p's end), the first from s, the others from the start state. A state
// stands for at most w bytes (the longest pattern), so after its first w bytes a walk is
// where a single walk would be: from then on its matches count, the walk before it having
// covered those before. p must have at least w bytes.
func (a *automaton) scanSplit(s int32, p []byte, w int) (state int32, pat, end int) {
	n := (len(p) + (walks-1)*w) / walks
	sp := split{}
	for k := range walks {
		sp.p[k] = p[k*(n-w) : k*(n-w)+n]
		sp.pat[k], sp.end[k] = -1, -1
	}
	sp.s[0] = s
	i := a.lockstep(&sp, n, w)
	const last = walks - 1
	state, lp, le := a.scanAll(sp.s[last], p[last*(n-w)+i:])
	if sp.pat[last] < 0 && lp >= 0 {
		sp.pat[last], sp.end[last] = lp, last*(n-w)+i+le
	}
	for k := range walks {
		if sp.pat[k] >= 0 {
			return state, sp.pat[k], sp.end[k]
		}
	}
	return state, -1, -1
}

// lockstep takes the walks over their first n bytes, keeping each one's first match (after
// its first w bytes but for the first walk's). It stops early after the first walk's first
// match (the earliest of all; the last walk need only find its state). It returns how many
// bytes the walks took.
func (a *automaton) lockstep(sp *split, n, w int) int {
	for i := 0; i < n; i++ {
		if i = a.fast(sp, i, n); i == n {
			return n
		}
		for k := range walks { // byte i takes a walk off the fast path: step each one
			sp.s[k] = a.step(sp.s[k], sp.p[k][i], true)
			if o := a.out[sp.s[k]]; o >= 0 && sp.pat[k] < 0 && (k == 0 || i >= w) {
				sp.pat[k], sp.end[k] = int(o), k*(n-w)+i
			}
		}
		if sp.pat[0] >= 0 {
			return i + 1
		}
	}
	return n
}

// fast takes the walks on from byte i while all stay on the fast path; it returns the
// first byte that takes one of them elsewhere (or n).
func (a *automaton) fast(sp *split, i, n int) int {
	if max(sp.s[0], sp.s[1], sp.s[2], sp.s[3]) >= a.nDense {
		return i
	}
	delta := a.delta
	p0, p1, p2, p3 := sp.p[0][:n], sp.p[1][:n], sp.p[2][:n], sp.p[3][:n]
	r0, r1, r2, r3 := int(sp.s[0])<<8, int(sp.s[1])<<8, int(sp.s[2])<<8, int(sp.s[3])<<8
	for ; i < n; i++ {
		t0, t1, t2, t3 := delta[r0|int(p0[i])], delta[r1|int(p1[i])], delta[r2|int(p2[i])], delta[r3|int(p3[i])]
		if (t0|t1|t2|t3)&special != 0 {
			break
		}
		r0, r1, r2, r3 = int(t0), int(t1), int(t2), int(t3)
	}
	sp.s[0], sp.s[1], sp.s[2], sp.s[3] = int32(r0>>8), int32(r1>>8), int32(r2>>8), int32(r3>>8)
	return i
}
