package wire

import (
	"errors"
	"fmt"
	"io"
)

// Errors that [LineReader.ReadLine] returns for one bad line. The rest of that line has been
// consumed, so the next ReadLine returns the next line.
var (
	// ErrLineTooLong means the line was longer than the reader's maximum.
	ErrLineTooLong = errors.New("ftp: line too long")
	// ErrNUL means the line contained a NUL byte.
	ErrNUL = errors.New("ftp: NUL byte in line")
	// ErrBareCR means the line contained a CR that was not followed by LF.
	ErrBareCR = errors.New("ftp: bare CR in line")
)

// DefaultMaxLine is the line length bound used when a reader is created with a maximum < 1.
const DefaultMaxLine = 4096

// Telnet bytes (RFC 854).
const (
	telnetIAC  = 255 // interpret as command
	telnetWILL = 251 // WILL, WONT, DO, DONT (251..254) take one option byte
	telnetSE   = 240 // lowest command byte: SE, NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SB
	telnetDM   = 242 // data mark
	telnetIP   = 244 // interrupt process
)

// rawSlack is the number of raw bytes (Telnet commands, CRLF) a line may carry on top of twice
// its decoded maximum before it counts as too long.
const rawSlack = 64

// Decoder states between two bytes.
const (
	stData = iota // plain data
	stIAC         // after IAC
	stOpt         // after IAC WILL/WONT/DO/DONT: the option byte follows
	stIP          // after IAC IP: a bare DM byte here is dropped
)

// LineReader reads CRLF-terminated lines from a Telnet NVT stream with a length bound.
//
// A line ends at LF; one CR right before the LF is stripped, so a bare LF also ends a line.
// Telnet sequences are removed: IAC IAC becomes a literal 0xFF byte, IAC followed by a command
// byte 240..250 or 255 (NOP, DM, IP, AO, AYT, EC, EL, GA, SB, …) is removed (2 bytes), and
// IAC WILL/WONT/DO/DONT plus its option byte is removed (3 bytes). An IAC followed by a byte
// below 240 (invalid Telnet) is dropped and that byte is kept, and a bare DM byte (242) right
// after IAC IP is dropped. Those two are what remains of "IAC IP IAC DM ABOR" on a socket
// without SO_OOBINLINE, when the kernel took the urgent byte (the DM, or the second IAC as
// BSD ftp sends it) out of band: either way the line reads "ABOR".
//
// A NUL byte, a CR not followed by LF, or more than max decoded bytes (or more than
// 2*max+64 raw bytes) make ReadLine return [ErrNUL], [ErrBareCR] or [ErrLineTooLong] for
// that line, the first one found. The rest of the line is read and discarded without being
// stored, so memory stays bounded by max and the next ReadLine returns the next line.
//
// A LineReader is not safe for concurrent use.
type LineReader struct {
	br      readBuf
	max     int    // maximum decoded line length
	rawMax  int    // maximum raw bytes in one line, CRLF and Telnet sequences included
	buf     []byte // decoded bytes of the current line
	raw     int    // raw bytes consumed for the current line
	state   int    // Telnet decoder state
	cr      bool   // a CR is pending
	lineErr error  // first error of the current line; the line is being discarded
	// stopEarly returns a line's error at once instead of reading to the line's end: for a
	// stream (the server's replies) that is closed after any framing error anyway, so that
	// an endless line is not read for ever.
	stopEarly bool
}

// NewLineReader returns a LineReader that reads lines of at most max bytes (CRLF excluded)
// from r. A max below 1 means [DefaultMaxLine].
//
// If r is a [ReadWaiter], [LineReader.WaitIdle] gives the 4 KiB read buffer back while the
// stream is quiet (an idle connection then costs no buffer); otherwise the reader keeps it. The line being decoded
// grows as needed up to max; a line over 256 bytes does not keep its storage.
func NewLineReader(r io.Reader, max int) *LineReader {
	if max < 1 {
		max = DefaultMaxLine
	}
	return &LineReader{
		br:     newReadBuf(r),
		max:    max,
		rawMax: 2*max + rawSlack,
	}
}

// keptLine is the largest line storage a LineReader keeps between lines.
const keptLine = 256

// Buffered reports how many bytes have been read from the underlying reader but not yet
// returned as part of a line: bytes waiting in the buffer plus those of a partial line left
// by a read error. It must be 0 before the connection is handed to a TLS handshake.
func (lr *LineReader) Buffered() int {
	return lr.br.buffered() + lr.raw
}

// WaitIdle returns once a line may be read without waiting for its first byte: at once if
// bytes are buffered or a line is under way or the reader is no [ReadWaiter]; otherwise the
// read buffer goes back to the pool and WaitIdle waits for the stream. A caller that parks
// here rather than in ReadLine parks on a short stack. The stream's errors are left to
// ReadLine; the error returned is the [ReadWaiter]'s own, if it gave up waiting.
func (lr *LineReader) WaitIdle() error {
	if lr.raw == 0 {
		return lr.br.waitIdle()
	}
	return nil
}

// ReadLine returns the next line without its line ending.
//
// It returns io.EOF at a clean end of stream (at a line boundary) and io.ErrUnexpectedEOF if
// the stream ends inside a line; the partial line is lost. Other read errors are returned
// wrapped; the partial line is kept, so ReadLine may be called again after a timeout.
func (lr *LineReader) ReadLine() (string, error) {
	for {
		b, err := lr.br.readByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				partial := lr.raw > 0
				lr.reset()
				if partial {
					return "", io.ErrUnexpectedEOF
				}
				return "", io.EOF
			}
			return "", fmt.Errorf("ftp: read line: %w", err)
		}
		lr.raw++
		if lr.raw > lr.rawMax {
			lr.fail(ErrLineTooLong)
		}
		var done bool
		if lr.state == stData && b != telnetIAC {
			done = lr.data(b) // the common byte: no Telnet decoding, no extra call
		} else {
			done = lr.decode(b)
		}
		if done || lr.lineErr != nil && lr.stopEarly {
			line, lineErr := string(lr.buf), lr.lineErr
			lr.reset()
			if lineErr != nil {
				return "", lineErr
			}
			return line, nil
		}
	}
}

// decode runs one raw byte through the Telnet decoder and reports whether it ended the line.
func (lr *LineReader) decode(b byte) bool {
	switch st := lr.state; {
	case st == stIAC:
		lr.state = stData
		switch {
		case b == telnetIAC:
			return lr.data(telnetIAC)
		case b >= telnetWILL:
			lr.state = stOpt
		case b == telnetIP:
			lr.state = stIP
		case b >= telnetSE:
			// two-byte command: removed
		default:
			return lr.data(b) // lone IAC: dropped
		}
	case st == stOpt:
		lr.state = stData
	case st == stIP && b == telnetDM:
		lr.state = stData // the IAC of "IAC DM" went out of band
	case b == telnetIAC:
		lr.state = stIAC
	default:
		lr.state = stData
		return lr.data(b)
	}
	return false
}

// data handles one decoded byte and reports whether it ended the line.
func (lr *LineReader) data(b byte) bool {
	if lr.cr {
		lr.cr = false
		if b == '\n' {
			return true
		}
		lr.fail(ErrBareCR)
	}
	switch b {
	case '\n':
		return true
	case '\r':
		lr.cr = true
	case 0:
		lr.fail(ErrNUL)
	default:
		if lr.lineErr != nil {
			return false
		}
		if len(lr.buf) >= lr.max {
			lr.fail(ErrLineTooLong)
			return false
		}
		if len(lr.buf) == cap(lr.buf) {
			// Grow by doubling, but never beyond max.
			nb := make([]byte, len(lr.buf), min(max(2*cap(lr.buf), 64), lr.max))
			copy(nb, lr.buf)
			lr.buf = nb
		}
		lr.buf = append(lr.buf, b)
	}
	return false
}

// fail records the first error of the current line and drops what was stored of it.
func (lr *LineReader) fail(err error) {
	if lr.lineErr == nil {
		lr.lineErr = err
		lr.buf = lr.buf[:0]
	}
}

// reset prepares for the next line.
func (lr *LineReader) reset() {
	lr.buf = lr.buf[:0]
	if cap(lr.buf) > keptLine {
		lr.buf = nil
	}
	lr.raw = 0
	lr.state = stData
	lr.cr = false
	lr.lineErr = nil
}

// appendTelnet appends s to dst with every 0xFF byte doubled (IAC IAC), followed by CRLF.
func appendTelnet(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == telnetIAC {
			dst = append(dst, telnetIAC)
		}
		dst = append(dst, s[i])
	}
	return append(dst, '\r', '\n')
}
