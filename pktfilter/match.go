package pktfilter

import "bytes"

// Matcher finds patterns in a stream fed piece by piece, also where a pattern spans pieces;
// it is not safe for concurrent use (one per stream direction).
//
// With up to indexMax patterns it searches each piece with bytes.Index per pattern (SIMD)
// and the seam between pieces in a small join buffer; with more it runs an Aho-Corasick
// automaton, whose state carries over from piece to piece, in four walks at once over
// each piece. BenchmarkScan, MB/s, 64 KiB pieces; random: random bytes and patterns of 8
// to 32 random bytes; text: lowercase text and lowercase patterns ("the 3 secret word
// 21"), whose first byte is frequent (AMD EPYC, 2 cores, Go 1.26):
//
//	patterns   bytes.Index         automaton
//	           random    text      random    text
//	       1    12300    1900        2070    1980
//	       2     5640    1050        2010    1960
//	       4     2850     600        2020    2000
//	       8     1400     320        1900    1980
//	      16      700     160        1990    2010
//	     256       46      11        1110    2000
//
// bytes.Index's speed falls with the pattern count and with the data (a pattern whose
// first byte is frequent in the stream makes it fall back to Rabin-Karp, about 2 GB/s for
// one pattern); the automaton's hardly changes (256 random patterns: its rows no longer
// fit in the L2 cache). The crossover is near 5 patterns on random data and near 1 on
// text; indexMax = 2 is even on a mix and keeps the worst case above 1 GB/s.
type Matcher struct {
	set   *patternSet
	off   int64  // stream offset of the next byte
	state int32  // the automaton's state
	tail  []byte // bytes.Index: the stream's last bytes (at most maxLen-1), then room for a join
}

// indexMax is the most patterns a Matcher searches with bytes.Index; above, an automaton
// (see the figures at Matcher).
const indexMax = 2

// patternSet is what the matchers of one pattern list share; it does not change.
type patternSet struct {
	pats   [][]byte // the patterns' bytes; an empty pattern never matches
	names  []string
	maxLen int        // the longest pattern's length
	ac     *automaton // nil: bytes.Index
}

// Match is a pattern found in a stream.
type Match struct {
	Pattern int    // index into the patterns
	Name    string // the pattern's name
	Offset  int64  // stream offset of the match's first byte
}

// NewMatcher returns a matcher of patterns at stream offset 0 (nil or empty patterns: a
// matcher that never matches). Patterns without bytes never match. The matcher keeps
// copies of the patterns. It expects at most MaxPatterns patterns of at most MaxPatternLen
// bytes (more work, but cost more memory and a longer carry); building the automaton of
// many patterns takes milliseconds, so streams of one pattern list should Clone one.
func NewMatcher(patterns []Pattern) *Matcher {
	n := 0
	for _, p := range patterns {
		if len(p.Bytes) > 0 {
			n++
		}
	}
	return newMatcher(patterns, n > indexMax)
}

// newMatcher returns a matcher of patterns that runs an automaton or bytes.Index.
func newMatcher(patterns []Pattern, automaton bool) *Matcher {
	s := &patternSet{pats: make([][]byte, len(patterns)), names: make([]string, len(patterns))}
	for i, p := range patterns {
		s.pats[i] = bytes.Clone(p.Bytes)
		s.names[i] = p.Name
		s.maxLen = max(s.maxLen, len(p.Bytes))
	}
	if s.maxLen == 0 {
		return &Matcher{}
	}
	if automaton {
		s.ac = buildAutomaton(s.pats)
	}
	return &Matcher{set: s}
}

// Clone returns a matcher of the same patterns at stream offset 0; it shares their
// compiled form, which is cheaper than NewMatcher for each stream.
func (m *Matcher) Clone() *Matcher { return &Matcher{set: m.set} }

// Scan looks at the next piece of the stream; it reports the first match that ends inside p
// (the earliest end; ties: the lowest pattern index). It takes in all of p either way: the
// next Scan goes on after p.
func (m *Matcher) Scan(p []byte) (Match, bool) {
	base := m.off
	m.off += int64(len(p))
	if m.set == nil {
		return Match{}, false
	}
	var pat, end int
	if m.set.ac != nil {
		pat, end = m.scanAutomaton(p)
	} else {
		pat, end = m.scanIndex(p)
	}
	if pat < 0 {
		return Match{}, false
	}
	return Match{Pattern: pat, Name: m.set.names[pat], Offset: base + int64(end+1-len(m.set.pats[pat]))}, true
}

// Reset forgets what came before (a gap in the stream): the next piece starts a new stream
// at offset off.
func (m *Matcher) Reset(off int64) {
	m.off = off
	m.state = 0
	m.tail = m.tail[:0]
}

// Offset is the stream offset of the next byte Scan expects.
func (m *Matcher) Offset() int64 { return m.off }

// scanAutomaton runs the automaton over p; it returns the first match's pattern and the
// index in p of its last byte (-1, -1: none).
func (m *Matcher) scanAutomaton(p []byte) (pat, end int) {
	a, w := m.set.ac, m.set.maxLen
	if len(p) < 2*w+splitMin {
		m.state, pat, end = a.scanAll(m.state, p)
	} else {
		m.state, pat, end = a.scanSplit(m.state, p, w)
	}
	return pat, end
}

// splitMin is about the shortest piece worth several walks (beyond the bytes they cover twice).
const splitMin = 256

// scanIndex searches p with bytes.Index per pattern; it returns the first match's pattern
// and the index in p of its last byte (-1, -1: none).
func (m *Matcher) scanIndex(p []byte) (pat, end int) {
	s := m.set
	keep := s.maxLen - 1 // the bytes a match may have before p
	if cap(m.tail) < 2*keep {
		m.tail = append(make([]byte, 0, 2*keep), m.tail...)
	}
	var join []byte // the tail, then p's first keep bytes (in the tail's array)
	if len(m.tail) > 0 {
		join = append(m.tail, p[:min(len(p), keep)]...)
	}
	pat, bound := -1, len(p) // a better match ends before p[bound]
	for i, q := range s.pats {
		if len(q) == 0 {
			continue
		}
		e := indexSeam(join, len(m.tail), q, bound)
		if e < 0 {
			e = indexPiece(p, q, bound)
		}
		if e >= 0 {
			pat, bound = i, e
		}
	}
	m.keepTail(join, p, keep)
	if pat < 0 {
		return -1, -1
	}
	return pat, bound
}

// indexSeam finds q in join (the tail of t bytes, then the piece's first bytes) where it
// starts in the tail and ends before the piece's byte bound; it returns the index in the
// piece of the match's last byte, or -1.
func indexSeam(join []byte, t int, q []byte, bound int) int {
	from := max(0, t-len(q)+1)
	to := min(len(join), t+min(len(q)-1, bound))
	if to-from < len(q) {
		return -1
	}
	k := bytes.Index(join[from:to], q)
	if k < 0 {
		return -1
	}
	return from + k + len(q) - 1 - t
}

// indexPiece finds q in p where it ends before p[bound]; it returns the index of the
// match's last byte, or -1.
func indexPiece(p, q []byte, bound int) int {
	k := bytes.Index(p[:bound], q)
	if k < 0 {
		return -1
	}
	return k + len(q) - 1
}

// keepTail keeps the stream's last keep bytes (at most) for the next piece's seam: join
// holds the old tail and p's first bytes, or is nil when there was no tail.
func (m *Matcher) keepTail(join, p []byte, keep int) {
	switch {
	case keep == 0:
	case len(p) >= keep:
		m.tail = append(m.tail[:0], p[len(p)-keep:]...)
	case join != nil: // join is the old tail and all of p
		m.tail = join[:copy(join, join[max(0, len(join)-keep):])]
	default:
		m.tail = append(m.tail[:0], p...)
	}
}
