package ftp

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
)

// recordConn sits under the TLS connection of a control leg. While TLS is on it hands the
// TLS layer exactly one record at a time, so the TLS layer never reads ahead of a
// close_notify; after CCC (RFC 4217: the control connection goes on in the clear) whatever
// follows the closure is still here, in order, for the plain reader.
type recordConn struct {
	net.Conn
	br        *bufio.Reader
	tls       bool // reads are record-limited
	remaining int  // bytes left of the current record's body
}

func newRecordConn(c net.Conn) *recordConn {
	return &recordConn{Conn: c, br: bufio.NewReader(c), tls: true}
}

// Read serves the TLS layer one record at a time, or plain bytes after plain().
func (r *recordConn) Read(p []byte) (int, error) {
	if !r.tls {
		return r.br.Read(p)
	}
	if r.remaining == 0 {
		if len(p) < 5 {
			return 0, io.ErrShortBuffer
		}
		if _, err := io.ReadFull(r.br, p[:5]); err != nil {
			return 0, err
		}
		r.remaining = int(binary.BigEndian.Uint16(p[3:5]))
		return 5, nil
	}
	if len(p) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.br.Read(p)
	r.remaining -= n
	return n, err
}

// nextIsAlert reports whether the next unread record is a TLS alert (a close_notify, after
// CCC) rather than plain text.
func (r *recordConn) nextIsAlert() bool {
	b, err := r.br.Peek(1)
	return err == nil && b[0] == 21
}

// plain switches to pass-through reads.
func (r *recordConn) plain() { r.tls, r.remaining = false, 0 }
