package datachan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/wire"
)

// BenchmarkRelayTLS measures the TLS relay (FTPS data channels: decrypted on one leg and
// encrypted again on the other) on loopback, a 1 MiB and a 64 MiB file per operation (the
// handshakes not timed), with Go's dynamic
// record sizing (small records for the first megabyte) and without it. The sender and
// receiver do TLS in this process too, so the figure is a ratio between variants, not the
// relay's own speed.
func BenchmarkRelayTLS(b *testing.B) {
	cert := benchCert(b)
	for _, size := range []int{1 << 20, 64 << 20} {
		for _, v := range []struct {
			name    string
			dynamic bool
		}{{"dynamic-records", true}, {"full-records", false}} {
			b.Run(fmt.Sprintf("%dMiB/%s", size>>20, v.name), func(b *testing.B) {
				srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}, DynamicRecordSizingDisabled: !v.dynamic}
				cliCfg := &tls.Config{InsecureSkipVerify: true, DynamicRecordSizingDisabled: !v.dynamic}
				benchmarkRelayTLS(b, size, srvCfg, cliCfg)
			})
		}
	}
}

// benchmarkRelayTLS relays size bytes per operation from a TLS sender through Relay between
// two TLS legs to a TLS receiver.
func benchmarkRelayTLS(b *testing.B, size int, srvCfg, cliCfg *tls.Config) {
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srcRaw, aRaw := tcpPair(b)
		bRaw, dstRaw := tcpPair(b)
		src, a := tls.Client(srcRaw, cliCfg), tls.Server(aRaw, srvCfg)
		bb, dst := tls.Client(bRaw, cliCfg), tls.Server(dstRaw, srvCfg)
		hs := make(chan error, 2)
		go func() { hs <- a.Handshake() }()
		go func() { hs <- dst.Handshake() }()
		if err := src.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := bb.Handshake(); err != nil {
			b.Fatal(err)
		}
		for range 2 {
			if err := <-hs; err != nil {
				b.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() {
			_, err := Relay(context.Background(), a, bb, wire.Upload, nil)
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
		b.StopTimer()
		dst.Close()
		src.Close()
		<-done
		if n != int64(size) {
			b.Fatalf("relayed %d bytes, want %d", n, size)
		}
	}
}

// benchCert is a self-signed ECDSA P-256 certificate for 127.0.0.1.
func benchCert(b *testing.B) tls.Certificate {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
