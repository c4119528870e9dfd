package datachan

import (
	"context"
	"io"
	"testing"
)

// BenchmarkRelay measures the relay's throughput on loopback: 64 MiB per operation from one
// peer through Relay (spliced TCP to TCP) to the other.
func BenchmarkRelay(b *testing.B) {
	const size = 64 << 20
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		src, a := tcpPair(b)
		bb, dst := tcpPair(b)
		done := make(chan struct{})
		go func() {
			Relay(context.Background(), a, bb, nil)
			close(done)
		}()
		b.StartTimer()
		go func() {
			for sent := 0; sent < size; sent += len(buf) {
				src.Write(buf)
			}
			src.CloseWrite()
		}()
		n, _ := io.Copy(io.Discard, dst)
		dst.Close()
		src.Close()
		<-done
		if n != size {
			b.Fatalf("relayed %d bytes, want %d", n, size)
		}
	}
}
