package pktfilter

import (
	"context"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

// fakeConn is a queue socket that records verdicts the way the kernel applies them: a batch
// verdict reaches every queued packet up to its id.
type fakeConn struct {
	mu     sync.Mutex
	queued map[uint32]bool
	given  []given // in the order the packets left the queue
	closed chan struct{}
}

// given is a packet's verdict as the kernel applied it.
type given struct {
	id      uint32
	verdict uint32
}

func newFakeConn() *fakeConn {
	return &fakeConn{queued: map[uint32]bool{}, closed: make(chan struct{})}
}

func (f *fakeConn) recv([]byte) (int, error) {
	<-f.closed
	return 0, os.ErrClosed
}

func (f *fakeConn) pending() bool { return false }

func (f *fakeConn) verdict(id, verdict uint32, batch bool, _ []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !batch {
		if f.queued[id] {
			delete(f.queued, id)
			f.given = append(f.given, given{id, verdict})
		}
		return nil
	}
	for q := uint32(0); q <= id; q++ { // ids are small in these tests
		if f.queued[q] {
			delete(f.queued, q)
			f.given = append(f.given, given{q, verdict})
		}
	}
	return nil
}

func (f *fakeConn) close() error {
	close(f.closed)
	return nil
}

// log returns the verdicts given so far.
func (f *fakeConn) log() []given {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]given(nil), f.given...)
}

// queue puts packet id in the fake kernel queue and hands it to the reader.
func (f *fakeConn) queue(r *reader, id uint32, raw []byte) {
	f.mu.Lock()
	f.queued[id] = true
	f.mu.Unlock()
	r.handle(id, raw)
}

// newTestReader returns a reader on a fake socket, judging the connection of jpkt's packets
// (from the client: its original direction) under s.
func newTestReader(t *testing.T, s Settings) (*reader, *fakeConn, *Judge) {
	t.Helper()
	q := NewQueue(QueueConfig{Num: 9})
	j := NewJudge(s, Meta{}, true, true)
	j.Transfer(Meta{}, false) // an upload: the original direction
	q.Add(Pinhole{Src: netip.MustParseAddr("198.51.100.2"), Dst: netip.MustParseAddr("203.0.113.2"), Port: 50000}, j, func(string) {})
	f := newFakeConn()
	r := &reader{q: q, nfq: f, num: 9, bypass: s.Bypass, done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(t.Context())
	go r.run()
	return r, f, j
}

// TestReaderReorder: a packet that came before the bytes ahead of it gets its verdict only
// after them, and no batch verdict covers it before.
func TestReaderReorder(t *testing.T) {
	r, f, j := newTestReader(t, Settings{Enabled: true})
	f.queue(r, 1, jpkt(1000, FlagSYN, ""))
	f.queue(r, 2, jpkt(1001, FlagACK, "aaa"))
	f.queue(r, 3, jpkt(1007, FlagACK, "ccc")) // held
	f.queue(r, 4, jpkt(1011, FlagACK, ""))    // a bare ACK passes at once, but not in a batch over 3
	if got := f.log(); len(got) != 3 || got[2].id != 4 {
		t.Fatalf("verdicts before the gap filled %v, want 1, 2, 4 (3 held)", got)
	}
	f.queue(r, 5, jpkt(1004, FlagACK, "bbb"))
	want := []given{{1, verdictAccept}, {2, verdictAccept}, {4, verdictAccept}, {5, verdictAccept}, {3, verdictAccept}}
	if got := f.log(); len(got) != len(want) || string(fmtGiven(got)) != string(fmtGiven(want)) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if st := j.Stats(); st.Reordered != 1 || st.OutOfOrder != 0 || st.DataBytes != 9 || st.MaxHold <= 0 {
		t.Errorf("stats %+v: want 1 reordered, 9 bytes, a hold", st)
	}
}

// fmtGiven is a comparable form of verdicts.
func fmtGiven(g []given) []byte {
	var b []byte
	for _, v := range g {
		b = append(b, byte(v.id), byte(v.verdict))
	}
	return b
}

// TestReaderHoldBound: a held packet whose gap does not fill gets its verdict when the
// timeout ends (fail-closed: dropped), not before; one still held when the queue closes
// gets its verdict then.
func TestReaderHoldBound(t *testing.T) {
	const timeout = 40 * time.Millisecond
	r, f, j := newTestReader(t, Settings{Enabled: true, Timeout: timeout})
	f.queue(r, 1, jpkt(1000, FlagSYN, ""))
	start := time.Now()
	f.queue(r, 2, jpkt(1004, FlagACK, "bbb"))
	var got []given
	for deadline := time.Now().Add(5 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		got = f.log()
	}
	waited := time.Since(start)
	if len(got) != 2 || got[1] != (given{2, verdictDrop}) || waited < timeout {
		t.Fatalf("verdicts %v after %v, want 2 dropped after %v", got, waited, timeout)
	}
	if st := j.Stats(); st.OutOfOrder != 1 {
		t.Errorf("out of order %d, want 1", st.OutOfOrder)
	}
	f.queue(r, 3, jpkt(1004+3, FlagACK, "ccc")) // beyond the dropped bytes: dropped at once
	f.queue(r, 4, jpkt(1001, FlagACK, "aaa"))
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	want := []given{{1, verdictAccept}, {2, verdictDrop}, {3, verdictDrop}, {4, verdictAccept}}
	if got := f.log(); string(fmtGiven(got)) != string(fmtGiven(want)) {
		t.Errorf("verdicts %v, want %v", got, want)
	}

	// Held as the queue closes (fail-open): the gap is let go and the packet passes.
	r, f, j = newTestReader(t, Settings{Enabled: true, Bypass: true, Timeout: time.Hour})
	f.queue(r, 1, jpkt(1000, FlagSYN, ""))
	f.queue(r, 2, jpkt(1004, FlagACK, "bbb"))
	if got := f.log(); len(got) != 1 {
		t.Fatalf("verdicts %v before the close, want only the SYN's", got)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if got := f.log(); len(got) != 2 || got[1] != (given{2, verdictAccept}) {
		t.Errorf("verdicts %v after the close, want 2 accepted", got)
	}
	if st := j.Stats(); st.Unjudged != 3 {
		t.Errorf("unjudged %d, want 3", st.Unjudged)
	}
}
