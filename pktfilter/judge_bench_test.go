package pktfilter

import (
	"context"
	"strings"
	"testing"
	"time"
)

// BenchmarkJudge is one queued download's judging in ftpgate: 62 KiB GSO packets in order,
// one pattern, with and without the digest (transfer_hash).
func BenchmarkJudge(b *testing.B) {
	for _, digest := range []bool{false, true} {
		name := "nodigest"
		if digest {
			name = "sha256"
		}
		b.Run(name, func(b *testing.B) {
			j := NewJudge(Settings{Enabled: true, Patterns: []Pattern{{Name: "p", Bytes: []byte("FTPGATE-NEVER-IN-A-FILE")}}}, Meta{}, true, digest)
			j.Transfer(Meta{}, true)
			now := time.Unix(1, 0)
			j.Judge(context.Background(), jpkt(1000, FlagSYN, ""), 0, Reply, now)
			payload := strings.Repeat("0123456789abcdef", 62<<10/16)
			raws := make([][]byte, 64)
			seq := uint32(1001)
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			for i := range b.N {
				k := i % len(raws)
				raws[k] = jpkt(seq, FlagACK, payload)
				b.StopTimer()
				b.StartTimer()
				if v := j.Judge(context.Background(), raws[k], 0, Reply, now); v.Action != Accept {
					b.Fatalf("verdict %v", v.Action)
				}
				seq += uint32(len(payload))
			}
		})
	}
}
