package datachan

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/wire"
)

// hashedRun carries dir over Hashed between two loopback pairs and returns the outer
// peers and a function that waits for the relay's error and the digests half reported.
func hashedRun(t *testing.T, dir wire.Direction) (peerA, peerB io.ReadWriteCloser, wait func() (map[bool][]byte, error)) {
	t.Helper()
	pa, a := tcpPair(t)
	b, pb := tcpPair(t)
	var mu sync.Mutex
	sums := map[bool][]byte{}
	done := make(chan error, 1)
	go func() {
		_, err := Hashed{}.Carry(context.Background(), a, b, dir, func(toServer bool, n int64, sum []byte) {
			mu.Lock()
			sums[toServer] = sum
			mu.Unlock()
		})
		done <- err
	}()
	return pa, pb, func() (map[bool][]byte, error) {
		select {
		case err := <-done:
			mu.Lock()
			defer mu.Unlock()
			return sums, err
		case <-time.After(10 * time.Second):
			t.Fatal("relay did not end")
			return nil, nil
		}
	}
}

// TestHashedRelay: each allowed direction arrives whole, and its digest is the SHA-256 of
// the bytes; the forbidden direction has none.
func TestHashedRelay(t *testing.T) {
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	want := sha256.Sum256(data)
	for _, dir := range []wire.Direction{wire.Upload, wire.Download} {
		t.Run(dir.String(), func(t *testing.T) {
			peerA, peerB, wait := hashedRun(t, dir)
			sender, receiver := peerB, peerA
			if dir == wire.Upload {
				sender, receiver = peerA, peerB
			}
			go func() {
				sender.Write(data)
				sender.Close()
			}()
			got, err := io.ReadAll(receiver)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("received %d bytes (%v), want the %d sent", len(got), err, len(data))
			}
			receiver.Close()
			sums, err := wait()
			if err != nil {
				t.Fatal(err)
			}
			toServer := dir == wire.Upload
			if hex.EncodeToString(sums[toServer]) != hex.EncodeToString(want[:]) {
				t.Errorf("digest %x, want %x", sums[toServer], want)
			}
			if sums[!toServer] != nil {
				t.Errorf("the forbidden direction has a digest: %x", sums[!toServer])
			}
		})
	}
}

// TestHashedWrongDirection: hashing changes nothing for the forbidden direction.
func TestHashedWrongDirection(t *testing.T) {
	peerA, _, wait := hashedRun(t, wire.Download)
	peerA.Write([]byte("x")) // the client leg sends on a download
	if _, err := wait(); !errors.Is(err, ErrWrongDirection) {
		t.Fatalf("err %v, want ErrWrongDirection", err)
	}
}
