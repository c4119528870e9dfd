package wire

import (
	"io"
	"testing"
)

// chunkWaiter is a ReadWaiter that delivers its chunks one Read at a time and counts the
// waits; a wait finds the next chunk ready (or the end).
type chunkWaiter struct {
	chunks []string
	waits  int
}

func (c *chunkWaiter) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func (c *chunkWaiter) WaitRead() error { c.waits++; return nil }

// TestLineReaderGivesBufferBack: over a ReadWaiter the reader holds no buffer while idle,
// waits before each read of an empty buffer, and still returns every line whole, also lines
// split across reads.
func TestLineReaderGivesBufferBack(t *testing.T) {
	w := &chunkWaiter{chunks: []string{"USER a\r\nPA", "SS b\r\n", "NOOP\r\n"}}
	lr := NewLineReader(w, 0)
	var got []string
	for {
		drained := lr.Buffered() == 0
		lr.WaitIdle()
		if drained && lr.br.b != nil {
			t.Fatal("WaitIdle kept an empty read buffer")
		}
		line, err := lr.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if len(got) != 3 || got[0] != "USER a" || got[1] != "PASS b" || got[2] != "NOOP" {
		t.Fatalf("lines %q", got)
	}
	if w.waits < 3 {
		t.Errorf("%d waits for 3 reads", w.waits)
	}
	if lr.br.b != nil {
		t.Error("the buffer was not given back at the end of the stream")
	}
}

// TestLineReaderKeepsBufferWithoutWaiter: a plain reader (a TLS connection, say) keeps its
// buffer, and WaitIdle returns at once.
func TestLineReaderKeepsBufferWithoutWaiter(t *testing.T) {
	lr := NewLineReader(io.MultiReader(stringsReader("A\r\n"), stringsReader("B\r\n")), 0)
	for _, want := range []string{"A", "B"} {
		lr.WaitIdle()
		if line, err := lr.ReadLine(); err != nil || line != want {
			t.Fatalf("%q %v, want %q", line, err, want)
		}
	}
	if lr.br.b == nil {
		t.Error("a reader that cannot wait gave its buffer back")
	}
}

// stringsReader is strings.NewReader without ReadWaiter.
func stringsReader(s string) io.Reader { return &chunkReader{s: s} }

type chunkReader struct{ s string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p, c.s)
	c.s = c.s[n:]
	return n, nil
}
