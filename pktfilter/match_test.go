package pktfilter

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// refMatcher is the naive reference: it keeps the whole stream since the last reset and
// tries every pattern at every end position of each piece.
type refMatcher struct {
	pats   []Pattern
	stream []byte
	base   int64 // stream offset of stream[0]
}

func (r *refMatcher) scan(p []byte) (Match, bool) {
	start := len(r.stream)
	r.stream = append(r.stream, p...)
	for e := start; e < len(r.stream); e++ {
		for i, q := range r.pats {
			n := len(q.Bytes)
			if n > 0 && n <= e+1 && bytes.Equal(r.stream[e+1-n:e+1], q.Bytes) {
				return Match{Pattern: i, Name: q.Name, Offset: r.base + int64(e+1-n)}, true
			}
		}
	}
	return Match{}, false
}

func (r *refMatcher) reset(off int64) { r.stream, r.base = r.stream[:0], off }

// implementations returns a matcher of each kind for pats.
func implementations(pats []Pattern) map[string]*Matcher {
	return map[string]*Matcher{
		"index":     newMatcher(pats, false),
		"automaton": newMatcher(pats, true),
		"new":       NewMatcher(pats),
	}
}

// compare feeds pieces (nil: a reset to the offset in resets) to every implementation and
// the reference and fails on the first difference.
func compare(t testing.TB, pats []Pattern, pieces [][]byte, resets []int64) int {
	t.Helper()
	ref := &refMatcher{pats: pats}
	ms := implementations(pats)
	found := 0
	for k, p := range pieces {
		if p == nil && len(resets) > 0 {
			ref.reset(resets[0])
			for _, m := range ms {
				m.Reset(resets[0])
			}
			resets = resets[1:]
			continue
		}
		want, wok := ref.scan(p)
		if wok {
			found++
		}
		for name, m := range ms {
			got, ok := m.Scan(p)
			if ok != wok || got != want {
				t.Fatalf("%s, piece %d (%d bytes): got %+v %v, want %+v %v\npatterns %q", name, k, len(p), got, ok, want, wok, pats)
			}
			if m.Offset() != ref.base+int64(len(ref.stream)) {
				t.Fatalf("%s: Offset %d, want %d", name, m.Offset(), ref.base+int64(len(ref.stream)))
			}
		}
	}
	return found
}

// randPatterns returns n patterns over alphabet with lengths up to maxLen, many of them
// prefixes, suffixes or middles of each other.
func randPatterns(r *rand.Rand, n, maxLen int, alphabet string) []Pattern {
	pats := make([]Pattern, n)
	for i := range pats {
		var b []byte
		if i > 0 && r.IntN(3) == 0 { // a piece of an earlier pattern
			q := pats[r.IntN(i)].Bytes
			lo := r.IntN(len(q))
			hi := lo + 1 + r.IntN(len(q)-lo)
			b = bytes.Clone(q[lo:hi])
		} else {
			b = make([]byte, 1+r.IntN(maxLen))
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
		}
		pats[i] = Pattern{Name: fmt.Sprintf("p%d", i), Bytes: b}
	}
	return pats
}

// randStream returns a stream over alphabet with patterns, whole and cut short, planted.
func randStream(r *rand.Rand, size int, pats []Pattern, alphabet string) []byte {
	var s []byte
	for len(s) < size {
		switch r.IntN(4) {
		case 0:
			q := pats[r.IntN(len(pats))].Bytes
			s = append(s, q[:r.IntN(len(q))+1]...)
		default:
			for range r.IntN(20) {
				s = append(s, alphabet[r.IntN(len(alphabet))])
			}
		}
	}
	return s
}

// randPieces cuts s at random places: runs of 1-byte pieces, empty pieces, larger ones;
// with resets, some cuts are gaps (nil pieces, with their offsets in the second result).
func randPieces(r *rand.Rand, s []byte, resets bool) ([][]byte, []int64) {
	var pieces [][]byte
	var offs []int64
	for len(s) > 0 {
		var n int
		switch r.IntN(6) {
		case 0:
			n = 1
		case 1:
			n = 0
		case 2:
			n = r.IntN(4000)
		case 3:
			n = r.IntN(20000)
		default:
			n = r.IntN(40)
		}
		n = min(n, len(s))
		pieces = append(pieces, s[:n])
		s = s[n:]
		if resets && r.IntN(30) == 0 {
			pieces = append(pieces, nil)
			offs = append(offs, r.Int64N(1<<40))
		}
	}
	return pieces, offs
}

// TestMatcherDifferential compares both implementations with the reference on random
// patterns, streams and cuts.
func TestMatcherDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	found := 0
	for round := range 400 {
		alphabet := []string{"ab", "abc", "abcdefgh", "\x00\xff"}[round%4]
		n := []int{1, 2, 3, 4, 5, 9, 16, 40, 256}[round%9]
		maxLen := []int{1, 3, 8, 30}[round%4]
		pats := randPatterns(r, n, maxLen, alphabet)
		s := randStream(r, 1+r.IntN(8000), pats, alphabet)
		pieces, resets := randPieces(r, s, round%2 == 0)
		found += compare(t, pats, pieces, resets)
	}
	if found < 1000 {
		t.Errorf("only %d matches: the test hardly tests", found)
	}
}

// TestMatcherLongPatterns uses patterns of MaxPatternLen bytes (beyond the dense states),
// next to patterns of 1 byte, over 1-byte and larger pieces.
func TestMatcherLongPatterns(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 6 {
		alphabet := "ab"
		var pats []Pattern
		for i := range []int{2, 6, 12}[round%3] {
			b := make([]byte, MaxPatternLen)
			for j := range b {
				b[j] = alphabet[r.IntN(2)]
			}
			pats = append(pats, Pattern{Name: fmt.Sprintf("long%d", i), Bytes: b})
		}
		if round >= 3 {
			pats = append(pats, Pattern{Name: "one", Bytes: []byte{'c'}})
		}
		s := randStream(r, 30000, pats, alphabet)
		for _, q := range pats[:2] { // whole ones for sure
			s = append(append(s, q.Bytes...), alphabet...)
		}
		pieces, _ := randPieces(r, s, false)
		if round%3 == 0 {
			pieces = nil
			for i := range s {
				pieces = append(pieces, s[i:i+1])
			}
		}
		if compare(t, pats, pieces, nil) == 0 {
			t.Error("no match found")
		}
	}
}

// TestMatcherSparse runs the automaton with very few dense states, so that most of the
// scan goes through the deeper states' edges and failure links.
func TestMatcherSparse(t *testing.T) {
	defer func(n int32) { denseStates = n }(denseStates)
	r := rand.New(rand.NewPCG(9, 10))
	for _, denseStates = range []int32{1, 2, 5, 40} {
		for round := range 50 {
			alphabet := []string{"ab", "abcd"}[round%2]
			pats := randPatterns(r, 1+r.IntN(30), 1+r.IntN(20), alphabet)
			s := randStream(r, 3000, pats, alphabet)
			pieces, resets := randPieces(r, s, true)
			compare(t, pats, pieces, resets)
		}
	}
}

// TestScanSplit compares the automaton's walks at once with one walk, for pieces from the
// shortest on, with the deeper states sparse or not.
func TestScanSplit(t *testing.T) {
	defer func(n int32) { denseStates = n }(denseStates)
	r := rand.New(rand.NewPCG(15, 16))
	for round := range 3000 {
		denseStates = []int32{4096, 3}[round%2]
		alphabet := []string{"ab", "abc", "abcdefgh"}[round%3]
		pats := randPatterns(r, 1+r.IntN(20), 1+r.IntN(12), alphabet)
		m := newMatcher(pats, true)
		a, w := m.set.ac, m.set.maxLen
		p := randStream(r, w+r.IntN(300), pats, alphabet)
		s0 := int32(0)
		if round%4 > 1 { // start somewhere inside
			s0, _, _ = a.scanAll(0, randStream(r, 20, pats, alphabet))
		}
		for n := w; n <= len(p); n++ {
			ws, wp, we := a.scanAll(s0, p[:n])
			if s, pat, end := a.scanSplit(s0, p[:n], w); s != ws || pat != wp || end != we {
				t.Fatalf("%d bytes (w %d): state %d, match %d at %d; one walk: %d, %d at %d\npatterns %q, p %q",
					n, w, s, pat, end, ws, wp, we, pats, p[:n])
			}
		}
	}
}

func TestMatcher(t *testing.T) {
	pats := []Pattern{{"bc", []byte("bc")}, {"abc", []byte("abc")}, {"abcd", []byte("abcd")}, {"empty", nil}, {"bc again", []byte("bc")}}
	for name, m := range implementations(pats) {
		t.Run(name, func(t *testing.T) {
			steps := []struct {
				piece string
				want  Match
				ok    bool
			}{
				{"xxa", Match{}, false},
				{"b", Match{}, false},
				{"cd", Match{0, "bc", 3}, true}, // "abc" ends there too, "bc" is first
				{"xabcd", Match{0, "bc", 8}, true},
				{"xx", Match{}, false},
			}
			for _, s := range steps {
				got, ok := m.Scan([]byte(s.piece))
				if got != s.want || ok != s.ok {
					t.Fatalf("Scan(%q) = %+v %v, want %+v %v", s.piece, got, ok, s.want, s.ok)
				}
			}
			if m.Offset() != 13 {
				t.Errorf("Offset %d", m.Offset())
			}
			m.Reset(100) // "ab" | "c" across the gap is no match
			m.Scan([]byte("ab"))
			m.Reset(200)
			if got, ok := m.Scan([]byte("c")); ok {
				t.Errorf("match across a reset: %+v", got)
			}
			c := m.Clone()
			m.Scan([]byte("a"))
			if got, ok := c.Scan([]byte("bc")); !ok || got != (Match{0, "bc", 0}) {
				t.Errorf("clone: %+v %v", got, ok)
			}
			if got, ok := m.Scan([]byte("bc")); !ok || got.Offset != 202 {
				t.Errorf("after the clone: %+v %v", got, ok)
			}
		})
	}
	lower := []Pattern{{"abc", []byte("abc")}, {"bc", []byte("bc")}}
	for name, m := range implementations(lower) { // the same end: the lower index
		if got, ok := m.Scan([]byte("zabc")); !ok || got != (Match{0, "abc", 1}) {
			t.Errorf("%s: %+v %v", name, got, ok)
		}
	}
}

func TestMatcherNone(t *testing.T) {
	for _, pats := range [][]Pattern{nil, {}, {{"empty", nil}}} {
		m := NewMatcher(pats)
		if _, ok := m.Scan([]byte("anything")); ok {
			t.Error("a match without patterns")
		}
		m.Reset(5)
		m.Scan([]byte("abc"))
		if m.Offset() != 8 || m.Clone().Offset() != 0 {
			t.Errorf("Offset %d", m.Offset())
		}
	}
}

// TestMatcherNoCopies checks that Scan does not allocate in the steady state.
func TestMatcherNoCopies(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	piece := make([]byte, 64<<10)
	fillRand(r, piece)
	for _, n := range []int{1, 4, 16} {
		m := NewMatcher(benchPatterns(r, n, MaxPatternLen))
		m.Scan(piece)
		if a := testing.AllocsPerRun(20, func() { m.Scan(piece); m.Scan(piece[:10]) }); a != 0 {
			t.Errorf("%d patterns: %v allocations per Scan", n, a)
		}
	}
}

// FuzzMatcher decodes patterns and pieces from the input and compares both
// implementations with the reference. The first byte's high bit maps the bytes to a
// four-letter alphabet, where matches are common; a piece length byte with its high bit
// set makes a long piece of a few bytes repeated.
func FuzzMatcher(f *testing.F) {
	f.Add([]byte("\x82\x02ab\x03bab\x05ababa\x04babb\x01a"))
	f.Add([]byte("\x01\x01\x00\x03\x00\x00\x00"))
	f.Add([]byte("\x83\x03aba\x02bb\x05ababb\xf0ab\xffbba\x02ab"))
	f.Add([]byte("\x8a\x01a\x01b\x02ab\x02ba\x03aab\x03abb\x01c\x02cc\x02dd\x01d\x03abc\x10abcdabcdabcdabcd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		small := data[0]&0x80 != 0
		n := 1 + int(data[0]&0x7f)%12
		data = data[1:]
		get := func(k int) []byte {
			k = min(k, len(data))
			b := bytes.Clone(data[:k])
			data = data[k:]
			if small {
				for i := range b {
					b[i] = 'a' + b[i]%4
				}
			}
			return b
		}
		var pats []Pattern
		for i := 0; i < n && len(data) > 0; i++ {
			k := int(data[0]) % 9
			data = data[1:]
			pats = append(pats, Pattern{Name: fmt.Sprint(i), Bytes: get(k)})
		}
		var pieces [][]byte
		for len(data) > 0 {
			k := int(data[0])
			data = data[1:]
			if k < 128 {
				pieces = append(pieces, get(k%17))
				continue
			}
			b := get(1 + k%8) // repeated to up to 2 KiB: long enough for the walks at once
			for len(b) > 0 && len(b) < (k-127)*16 {
				b = append(b, b[:min(len(b), (k-127)*16-len(b))]...)
			}
			pieces = append(pieces, b)
		}
		compare(t, pats, pieces, nil)
	})
}

// benchPatterns returns n random patterns of 8 to maxLen bytes.
func benchPatterns(r *rand.Rand, n, maxLen int) []Pattern {
	pats := make([]Pattern, n)
	for i := range pats {
		pats[i].Bytes = make([]byte, 8+r.IntN(maxLen-7))
		fillRand(r, pats[i].Bytes)
	}
	return pats
}

// BenchmarkScan scans 64 KiB pieces of random bytes (from a 4 MiB stream) with 1 to 256
// random patterns of 8 to 32 bytes, with both implementations; "text" scans lowercase
// text for lowercase words, where bytes.Index finds many candidates.
func BenchmarkScan(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	random := make([]byte, 4<<20)
	fillRand(r, random)
	text := make([]byte, 4<<20)
	for i := range text {
		text[i] = "etaoin shrdlu cmfwyp"[r.IntN(20)]
	}
	for _, n := range []int{1, 2, 4, 8, 16, 256} {
		pats := benchPatterns(r, n, 32)
		words := make([]Pattern, n)
		for i := range words {
			words[i].Bytes = []byte(fmt.Sprintf("the %d secret word %d", i, i*7))
		}
		for _, kind := range []string{"index", "automaton"} {
			b.Run(fmt.Sprintf("%d/%s/random", n, kind), func(b *testing.B) { benchScan(b, pats, kind, random) })
			b.Run(fmt.Sprintf("%d/%s/text", n, kind), func(b *testing.B) { benchScan(b, words, kind, text) })
		}
	}
}

func benchScan(b *testing.B, pats []Pattern, kind string, stream []byte) {
	m := newMatcher(pats, kind == "automaton")
	const piece = 64 << 10
	b.SetBytes(piece)
	off := 0
	for b.Loop() {
		if _, ok := m.Scan(stream[off : off+piece]); ok {
			b.Fatal("a match in the benchmark's stream")
		}
		off = (off + piece) % len(stream)
	}
}

// BenchmarkNewMatcher builds the automaton of 256 patterns (what Clone saves per stream).
func BenchmarkNewMatcher(b *testing.B) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, maxLen := range []int{32, MaxPatternLen} {
		pats := benchPatterns(r, MaxPatterns, maxLen)
		b.Run(fmt.Sprint(maxLen), func(b *testing.B) {
			for b.Loop() {
				NewMatcher(pats)
			}
		})
	}
}
