package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ftpgate/ftpgate/ftp"
)

// Version is the protocol version this package speaks; a request or response of another
// version is refused.
const Version = 1

// MaxRequest bounds a request line, in bytes.
const MaxRequest = 4096

// ReadTimeout bounds the wait for a request line.
const ReadTimeout = 5 * time.Second

// The commands.
const (
	CmdSessions = "sessions"
	CmdKill     = "kill"
	CmdStatus   = "status"
	CmdReload   = "reload"
)

// Request is one request line.
type Request struct {
	V   int    `json:"v"`
	Cmd string `json:"cmd"`
	// ID is the session of a kill.
	ID uint64 `json:"id,omitempty"`
}

// Response is one response line.
type Response struct {
	V        int               `json:"v"`
	OK       bool              `json:"ok"`
	Error    string            `json:"error,omitempty"`
	Sessions []ftp.SessionInfo `json:"sessions,omitempty"`
	Status   *Status           `json:"status,omitempty"`
	// Message is what a kill or a reload did.
	Message string `json:"message,omitempty"`
}

// Status is the daemon's state, for `ftpgate status`.
type Status struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// Uptime is in seconds.
	Uptime       float64   `json:"uptime"`
	ConfigPath   string    `json:"config_path"`
	ConfigLoaded time.Time `json:"config_loaded"`
	Services     int       `json:"services"`
	Sessions     int       `json:"sessions"`
	// Listeners name the daemon's listening sockets, one line each.
	Listeners  []string `json:"listeners"`
	KernelPath bool     `json:"kernel_path"`
}

// ErrRequest marks a request that could not be read or understood.
var ErrRequest = errors.New("control: bad request")

// ReadRequest reads and checks one request line from r: at most MaxRequest bytes, a known
// version and command.
func ReadRequest(r io.Reader) (Request, error) {
	var req Request
	line, err := readLine(r, MaxRequest)
	if err != nil {
		return req, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("%w: not a JSON request: %w", ErrRequest, err)
	}
	if req.V != Version {
		return req, fmt.Errorf("%w: protocol version %d (this ftpgate speaks %d)", ErrRequest, req.V, Version)
	}
	switch req.Cmd {
	case CmdSessions, CmdStatus, CmdReload:
	case CmdKill:
		if req.ID == 0 {
			return req, fmt.Errorf("%w: kill needs a session id", ErrRequest)
		}
	default:
		return req, fmt.Errorf("%w: unknown command %q", ErrRequest, req.Cmd)
	}
	return req, nil
}

// readLine reads up to the first newline (or the end) of r, at most max bytes of it.
func readLine(r io.Reader, max int) ([]byte, error) {
	buf := make([]byte, 0, 512)
	one := make([]byte, 512)
	for {
		n, err := r.Read(one)
		buf = append(buf, one[:n]...)
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i]
			break
		}
		if len(buf) > max {
			return nil, fmt.Errorf("request over %d bytes", max)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(buf) > max {
		return nil, fmt.Errorf("request over %d bytes", max)
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		return nil, errors.New("empty request")
	}
	return buf, nil
}

// WriteLine writes v as one JSON line.
func WriteLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("control: encode: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("control: write: %w", err)
	}
	return nil
}

// errorResponse is the response of a request that failed.
func errorResponse(err error) Response {
	return Response{V: Version, Error: err.Error()}
}
