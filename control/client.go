package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ErrUnreachable is the error of a Call that found no daemon on the socket.
var ErrUnreachable = errors.New("control: socket unreachable")

// ErrDaemon marks the error a daemon answered with.
var ErrDaemon = errors.New("ftpgate")

// maxResponse bounds a response (a session listing of many thousands of sessions fits).
const maxResponse = 256 << 20

// callTimeout bounds a call whose context has no deadline.
const callTimeout = 60 * time.Second

// Call sends req to the daemon listening on path and returns its response. A daemon that
// is not there is ErrUnreachable; an error it answered is ErrDaemon with its reason.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	req.V = Version
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := WriteLine(conn, req); err != nil {
		return Response{}, err
	}
	var resp Response
	if err := json.NewDecoder(io.LimitReader(conn, maxResponse)).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("control: read the response: %w", err)
	}
	if resp.V != Version {
		return resp, fmt.Errorf("control: the daemon speaks protocol version %d, this command %d", resp.V, Version)
	}
	if !resp.OK {
		return resp, fmt.Errorf("%w: %s", ErrDaemon, resp.Error)
	}
	return resp, nil
}
