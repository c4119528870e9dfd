package ftp

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// TestRecordConnStopsAtRecords: the TLS layer is handed one record at a time, so after the
// closure the plain text that followed it in the same segment is still there.
func TestRecordConnStopsAtRecords(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	stream := append([]byte{23, 3, 3, 0, 3, 'x', 'y', 'z'}, []byte{21, 3, 3, 0, 2, 1, 0}...)
	stream = append(stream, []byte("NOOP\r\n")...)
	go func() { b.Write(stream); b.Close() }()
	rc := newRecordConn(a)
	buf := make([]byte, 512)
	var got [][]byte
	for i := 0; i < 4; i++ {
		n, err := rc.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, append([]byte(nil), buf[:n]...))
	}
	want := [][]byte{{23, 3, 3, 0, 3}, []byte("xyz"), {21, 3, 3, 0, 2}, {1, 0}}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("read %d = %v, want %v", i, got[i], want[i])
		}
	}
	if rc.nextIsAlert() {
		t.Fatal("plain text taken for an alert")
	}
	rc.plain()
	rest, _ := io.ReadAll(rc)
	if string(rest) != "NOOP\r\n" {
		t.Fatalf("after the closure: %q", rest)
	}
}
