package datachan

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"testing"

	"github.com/ftpgate/ftpgate/wire"
)

// relayPathSize is how many bytes each operation of BenchmarkRelayPaths moves.
const relayPathSize = 256 << 20

// relayPath carries one direction of a proxied data channel: the bytes arriving on a go out
// on b until a reaches EOF, then b's sending side is shut down. ready is called once the path
// is set up and the source may start sending (sockmap must be in place before the first
// byte). The result is the number of bytes carried.
type relayPath func(a, b *net.TCPConn, ready func()) (int64, error)

// BenchmarkRelayPaths compares ways of carrying a one-way proxied data channel on loopback:
// source -> proxy A -> proxy B -> sink, 256 MiB per operation. Besides throughput it reports
// the CPU time spent per GiB: of this process ("cpu-s/GiB", user+sys from getrusage), of the
// whole machine ("machine-cpu-s/GiB", busy time from /proc/stat) and of this process plus
// the kernel threads ("proc+kthreads-cpu-s/GiB", exact run times from schedstat). All
// include the source and sink, which are the same in every variant. The kernel threads
// matter for sockmap: its redirect to egress is sent by the psock backlog kworker, whose CPU
// time is NOT in this process's rusage. /proc/stat also counts anything else the machine
// runs meanwhile, and undercounts sockmap (see cpuMeter): proc+kthreads is the fair one.
func BenchmarkRelayPaths(b *testing.B) {
	var sm *sockmapRelay // loaded on first use, once for the whole benchmark
	b.Cleanup(func() {
		if sm != nil {
			sm.Close()
		}
	})
	paths := []struct {
		name string
		path func(b *testing.B) relayPath
	}{
		{"splice-go", func(*testing.B) relayPath { return relayGo }},
		{"splice-pipe64k", func(*testing.B) relayPath { return spliceRelay(64 << 10) }},
		{"splice-pipe1m", func(*testing.B) relayPath { return spliceRelay(1 << 20) }},
		{"copy-32k", func(*testing.B) relayPath { return copyRelay(32 << 10) }},
		{"copy-256k", func(*testing.B) relayPath { return copyRelay(256 << 10) }},
		{"copy-1m", func(*testing.B) relayPath { return copyRelay(1 << 20) }},
		{"sockmap", func(b *testing.B) relayPath {
			if os.Geteuid() != 0 {
				b.Skip("sockmap needs root (CAP_BPF and CAP_NET_ADMIN) to load its program")
			}
			if sm == nil {
				var err error
				if sm, err = newSockmapRelay(); err != nil {
					b.Fatalf("sockmap: %v", err)
				}
			}
			return sm.relay
		}},
	}
	stream := newPatternStream(relayPathSize)
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) { benchmarkRelayPath(b, p.path(b), stream) })
	}
}

// relayGo carries a -> b with the production Relay (an Upload: a is the client leg), which
// io.Copy turns into splice(2) through Go's pipe pool; the reverse direction is guarded.
func relayGo(a, b *net.TCPConn, ready func()) (int64, error) {
	ready()
	c, err := Relay(context.Background(), a, b, wire.Upload, nil)
	return c.ToServer, err
}

// benchmarkRelayPath runs b.N operations of relayPathSize bytes through path and checks that
// each arrives whole: the byte count and a CRC-32C of the stream.
func benchmarkRelayPath(b *testing.B, path relayPath, stream *patternStream) {
	b.SetBytes(relayPathSize)
	var meter cpuMeter
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		src, pa := tcpPair(b)
		pb, dst := tcpPair(b)
		if err := meter.start(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, sum, err := relayOnce(src, pa, pb, dst, path, stream)
		b.StopTimer()
		if err := meter.stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
		if n != relayPathSize || sum != stream.sum {
			b.Fatalf("sink got %d bytes with CRC-32C %08x, want %d bytes with %08x", n, sum, int64(relayPathSize), stream.sum)
		}
	}
	gib := float64(b.N) * relayPathSize / (1 << 30)
	b.ReportMetric(meter.process.Seconds()/gib, "cpu-s/GiB")
	b.ReportMetric(meter.machine.Seconds()/gib, "machine-cpu-s/GiB")
	b.ReportMetric(meter.tasks.Seconds()/gib, "proc+kthreads-cpu-s/GiB")
}

// relayOnce moves one stream from src through path (pa -> pb) to dst and returns what the
// sink received: the byte count and its CRC-32C. It closes all four connections.
func relayOnce(src, pa, pb, dst *net.TCPConn, path relayPath, stream *patternStream) (int64, uint32, error) {
	readyc := make(chan struct{})
	type result struct {
		n   int64
		err error
	}
	relayed := make(chan result, 1)
	go func() {
		n, err := path(pa, pb, func() { close(readyc) })
		if err != nil { // unblock the source and the sink
			pa.Close()
			pb.Close()
		}
		relayed <- result{n, err}
	}()
	sent := make(chan error, 1)
	go func() {
		select {
		case <-readyc:
		case r := <-relayed: // the path failed before it was ready
			relayed <- r
			sent <- errors.New("relay ended before it was ready")
			src.Close()
			dst.Close() // ends the sink's read
			return
		}
		err := stream.writeTo(src)
		if err == nil {
			err = src.CloseWrite()
		}
		sent <- err
	}()
	n, sum, rerr := sinkRead(dst)
	dst.Close()
	src.Close()
	serr := <-sent
	r := <-relayed
	pa.Close()
	pb.Close()
	switch {
	case r.err != nil:
		return n, sum, fmt.Errorf("relay: %w", r.err)
	case serr != nil:
		return n, sum, fmt.Errorf("source: %w", serr)
	case rerr != nil:
		return n, sum, fmt.Errorf("sink: %w", rerr)
	case r.n != n:
		return n, sum, fmt.Errorf("relay counted %d bytes, sink got %d", r.n, n)
	}
	return n, sum, nil
}

// sinkRead reads c to EOF and returns the byte count and CRC-32C of what it read.
func sinkRead(c *net.TCPConn) (int64, uint32, error) {
	buf := make([]byte, 1<<20)
	var (
		n   int64
		sum uint32
	)
	for {
		k, err := c.Read(buf)
		n += int64(k)
		sum = crc32.Update(sum, castagnoli, buf[:k])
		if errors.Is(err, io.EOF) {
			return n, sum, nil
		}
		if err != nil {
			return n, sum, err
		}
	}
}
