package datachan

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/wire"
)

// TestProgressLive checks that a relay's count moves while the transfer runs, on the splice
// path and the hashed path, and ends at the byte count.
func TestProgressLive(t *testing.T) {
	for _, hash := range []bool{false, true} {
		t.Run(map[bool]string{false: "splice", true: "hashed"}[hash], func(t *testing.T) {
			peerA, a := tcpPair(t)
			b, peerB := tcpPair(t)
			var m meter
			done := make(chan Counts, 1)
			go func() {
				c, _ := relay(context.Background(), a, b, wire.Download, nil, hash, &m)
				done <- c
			}()
			go io.Copy(io.Discard, peerA)
			block := bytes.Repeat([]byte("x"), 600<<10) // over spliceStep: one step completes
			if _, err := peerB.Write(block); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for m.toClient.Load() < spliceStep && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := m.toClient.Load(); got < spliceStep {
				t.Fatalf("live count while the transfer runs = %d, want >= %d", got, spliceStep)
			}
			peerB.Write(block)
			peerB.CloseWrite()
			peerA.CloseWrite() // the guarded direction ends too
			c := <-done
			if c.ToClient != 2*int64(len(block)) || m.toClient.Load() != c.ToClient || m.toServer.Load() != 0 {
				t.Fatalf("counts %+v, live %d/%d", c, m.toClient.Load(), m.toServer.Load())
			}
		})
	}
}
