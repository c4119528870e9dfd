package datachan

import (
	"context"
	"io"
	"testing"

	"github.com/ftpgate/ftpgate/wire"
)

// BenchmarkRelay measures the relay's throughput on loopback: 64 MiB per operation from one
// peer through Relay (spliced TCP to TCP) to the other, both ways allowed and one way only
// (the reverse direction watched for stray bytes).
func BenchmarkRelay(b *testing.B) {
	for _, dir := range []wire.Direction{wire.NoData, wire.Upload} {
		b.Run(dir.String(), func(b *testing.B) { benchmarkRelay(b, dir) })
	}
}

// BenchmarkRelayHashed is BenchmarkRelay's one-way case on the paths a policy chooses
// between: Splice (transfer_hash: none) and Hashed (the default, SHA-256 of what passes).
func BenchmarkRelayHashed(b *testing.B) {
	for _, p := range []struct {
		name string
		path Path
	}{{"splice", Splice{}}, {"sha256", Hashed{}}} {
		b.Run(p.name, func(b *testing.B) { benchmarkPath(b, p.path, wire.Upload) })
	}
}

func benchmarkRelay(b *testing.B, dir wire.Direction) { benchmarkPath(b, Splice{}, dir) }

func benchmarkPath(b *testing.B, path Path, dir wire.Direction) {
	const size = 64 << 20
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		src, a := tcpPair(b)
		bb, dst := tcpPair(b)
		done := make(chan error, 1)
		go func() {
			_, err := path.Carry(context.Background(), a, bb, dir, nil)
			done <- err
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
		if err := <-done; err != nil {
			b.Fatalf("relay: %v", err)
		}
		if n != size {
			b.Fatalf("relayed %d bytes, want %d", n, size)
		}
	}
}
