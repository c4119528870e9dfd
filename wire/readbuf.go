package wire

import (
	"io"
	"sync"
)

// readBufSize is the size of the buffer a reader borrows while bytes are waiting.
const readBufSize = 4096

// readBufs holds the read buffers of readers that are waiting for their peer: an idle
// control connection holds none.
var readBufs = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// ReadWaiter is implemented by a reader that can wait until a Read would not block (data, end
// of stream or an error waiting), without a buffer. [NewLineReader] uses it to hand its
// buffer back while the stream is idle; a reader without it keeps its buffer.
type ReadWaiter interface {
	io.Reader
	// WaitRead returns once a Read would not block, or with an error of the waiter's own
	// (a quiet period it was told to end, say), which [LineReader.WaitIdle] hands on. An
	// error of the stream is not final here: the Read that follows reports it.
	WaitRead() error
}

// readBuf is a byte reader over r whose buffer is borrowed from readBufs; waitIdle gives it
// back while r, a ReadWaiter, is quiet (a reader that cannot wait keeps it for good).
type readBuf struct {
	r   io.Reader
	w   ReadWaiter // r as a ReadWaiter, or nil
	b   *[readBufSize]byte
	pos int
	end int
	err error // the read error to return once the buffered bytes are taken
}

func newReadBuf(r io.Reader) readBuf {
	w, _ := r.(ReadWaiter)
	return readBuf{r: r, w: w}
}

// buffered is the number of bytes read from r and not yet taken.
func (rb *readBuf) buffered() int { return rb.end - rb.pos }

// readByte returns the next byte.
func (rb *readBuf) readByte() (byte, error) {
	if rb.pos == rb.end {
		if err := rb.fill(); err != nil {
			return 0, err
		}
	}
	c := rb.b[rb.pos]
	rb.pos++
	return c, nil
}

// fill reads more bytes into an empty buffer, borrowing one if the reader holds none. The
// wait without a buffer is waitIdle's, between lines; a line under way keeps its buffer.
func (rb *readBuf) fill() error {
	if rb.err != nil {
		err := rb.err
		rb.err = nil
		return err
	}
	if rb.b == nil {
		rb.b = readBufs.Get().(*[readBufSize]byte)
	}
	for range 100 { // io.Reader allows (0, nil): retry a bounded number of times
		n, err := rb.r.Read(rb.b[:])
		rb.pos, rb.end = 0, n
		switch {
		case n > 0:
			rb.err = err
			return nil
		case err != nil:
			if rb.w != nil {
				rb.release()
			}
			return err
		}
	}
	return io.ErrNoProgress
}

// waitIdle waits, without a buffer, until r has bytes, if none are buffered and r can wait,
// and returns WaitRead's error.
func (rb *readBuf) waitIdle() error {
	if rb.w != nil && rb.pos == rb.end && rb.err == nil {
		rb.release()
		return rb.w.WaitRead()
	}
	return nil
}

// release hands an empty buffer back to the pool.
func (rb *readBuf) release() {
	if rb.b != nil && rb.pos == rb.end {
		readBufs.Put(rb.b)
		rb.b, rb.pos, rb.end = nil, 0, 0
	}
}
