package pktfilter

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// digest is the SHA-256 of a stream, computed on a goroutine of its own so that the queue's
// reader, which every packet waits for, does not: SHA-256 costs about 45 µs per 62 KiB GSO
// packet on these machines, more than the rest of the judging (BenchmarkJudge). Bytes are
// copied into pooled buffers and hashed in order; a full pipe makes the writer wait.
type digest struct {
	ch   chan []byte   // nil until the first write
	done chan struct{} // closed when run has hashed everything
	sum  hash.Hash
	out  []byte // the final sum (after finish)
	once sync.Once
}

// digestPipe bounds the copies waiting to be hashed (about 4 MiB of GSO packets).
const digestPipe = 64

// digestBufs are the copies' buffers.
var digestBufs = sync.Pool{New: func() any { return make([]byte, 0, 64<<10) }}

// newDigest returns a digest; its goroutine starts with the first write.
func newDigest() *digest {
	return &digest{sum: sha256.New()}
}

// run hashes what write sends, until finish.
func (d *digest) run() {
	defer close(d.done)
	for b := range d.ch {
		d.sum.Write(b)
		digestBufs.Put(b[:0]) //nolint:staticcheck // the pool keeps the slice's array
	}
}

// write adds p (copied) to the stream.
func (d *digest) write(p []byte) {
	if d.ch == nil {
		d.ch, d.done = make(chan []byte, digestPipe), make(chan struct{})
		go d.run()
	}
	d.ch <- append(digestBufs.Get().([]byte), p...)
}

// finish waits for the bytes written so far and returns the sum; later writes must not come.
func (d *digest) finish() []byte {
	d.once.Do(func() {
		if d.ch != nil {
			close(d.ch)
			<-d.done
		}
		d.out = d.sum.Sum(nil)
	})
	return d.out
}
