package wire

import (
	"bytes"
	"strings"
	"testing"
)

// BenchmarkLineReader measures command line reading: 10k typical command lines per operation.
func BenchmarkLineReader(b *testing.B) {
	input := []byte(strings.Repeat("RETR some/directory/file-name.bin\r\n", 10000))
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		lr := NewLineReader(bytes.NewReader(input), 2048)
		for n := 0; ; n++ {
			if _, err := lr.ReadLine(); err != nil {
				if n != 10000 {
					b.Fatalf("read %d lines", n)
				}
				break
			}
		}
	}
}

// BenchmarkReplyReader measures reading multi-line FEAT replies, 1000 per operation.
func BenchmarkReplyReader(b *testing.B) {
	input := []byte(strings.Repeat("211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n", 1000))
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rr := NewReplyReader(bytes.NewReader(input), 2048, 1000)
		for n := 0; ; n++ {
			if _, err := rr.ReadReply(); err != nil {
				if n != 1000 {
					b.Fatalf("read %d replies", n)
				}
				break
			}
		}
	}
}

// BenchmarkParsePASVReply measures the 227 scanner.
func BenchmarkParsePASVReply(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParsePASVReply("Entering Passive Mode (203,0,113,2,117,48)."); err != nil {
			b.Fatal(err)
		}
	}
}
