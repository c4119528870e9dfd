package ftp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/wire"
)

// Session states, as SessionInfo reports them.
const (
	StateLogin    = "login"    // no login has succeeded yet
	StateIdle     = "idle"     // logged in, no transfer running
	StateTransfer = "transfer" // a transfer is not over: its final reply or its data still to come
)

// SessionInfo is a snapshot of one live session, for `ftpgate sessions`.
type SessionInfo struct {
	ID      uint64    `json:"id"`
	Client  string    `json:"client"`
	Server  string    `json:"server"`
	User    string    `json:"user"`
	Service string    `json:"service,omitempty"`
	Policy  string    `json:"policy,omitempty"`
	Started time.Time `json:"started"`
	// TLSClient and TLSServer are the control legs' TLS versions ("" while plain).
	TLSClient string `json:"tls_client,omitempty"`
	TLSServer string `json:"tls_server,omitempty"`
	// State is StateLogin, StateIdle or StateTransfer.
	State string `json:"state"`
	// Transfer is the running transfer, if any.
	Transfer *TransferInfo `json:"transfer,omitempty"`
	// DataOpen: a data connection is still at work, or still open until the client has
	// taken every byte and closed it (a stop waits for it).
	DataOpen bool `json:"data_open,omitempty"`
}

// TransferInfo is the running transfer of a session: its command and its bytes so far.
type TransferInfo struct {
	Command   string    `json:"command"`
	Arg       string    `json:"arg"`
	Direction string    `json:"direction"`
	Started   time.Time `json:"started"`
	// Bytes is what has passed in the transfer's direction so far, Rate its mean in bytes
	// per second since the command. Kernel: the bytes take the kernel path, past ftpgate;
	// Bytes is then conntrack's estimate as last polled (0 until the connection is seen).
	Bytes  int64   `json:"bytes"`
	Rate   float64 `json:"rate"`
	Kernel bool    `json:"kernel,omitempty"`
}

// ErrKilled ends a session that was killed ([Session.Kill]).
var ErrKilled = errors.New("ftp: session killed")

// ctlState is what the session listing and Kill need of a session (guarded by Session.mu).
type ctlState struct {
	started  time.Time
	loggedIn bool
	end      context.CancelFunc // ends the session, once it runs
	killedBy string             // who killed it ("" while nobody did)
}

// Info returns a snapshot of the session. It takes the session's locks only briefly, one at
// a time, and works on a parked session as on any other.
func (s *Session) Info() SessionInfo {
	in := SessionInfo{ID: s.ID, Client: s.clientAddr.String(), Server: s.serverAddr.String(),
		Service: s.cfg.Service, Policy: s.cfg.Policy, User: s.user(), State: StateIdle}
	s.mu.Lock()
	in.Started = s.ctl.started
	if !s.ctl.loggedIn {
		in.State = StateLogin
	}
	if c := s.tls.client; c != nil {
		in.TLSClient, _ = ftptls.Describe(c.ConnectionState())
	}
	if c := s.tls.server; c != nil {
		in.TLSServer, _ = ftptls.Describe(c.ConnectionState())
	}
	s.mu.Unlock()
	if x := s.runningTransfer(); x != nil {
		in.State, in.Transfer = StateTransfer, transferInfo(x)
	}
	in.DataOpen = s.dc.Busy()
	return in
}

// runningTransfer is the first transfer not over yet, if any: owed its final reply, or
// holding it back while its data still passes (a slow client), until its record is
// written.
func (s *Session) runningTransfer() *transfer {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, p := range s.pending {
		if p.xfer == nil {
			continue
		}
		select {
		case <-p.xfer.finished:
		default:
			return p.xfer
		}
	}
	return nil
}

// transferInfo describes a running transfer with its live byte count.
func transferInfo(x *transfer) *TransferInfo {
	t := &TransferInfo{Command: x.cmd.Verb, Arg: x.cmd.Arg, Direction: x.dir.String(), Started: x.start}
	if x.data == nil {
		return t
	}
	p := x.data.Progress()
	t.Kernel = p.Kernel
	t.Bytes = p.ToClient
	if x.dir == wire.Upload {
		t.Bytes = p.ToServer
	}
	if secs := time.Since(x.start).Seconds(); secs > 0 {
		t.Rate = float64(t.Bytes) / secs
	}
	return t
}

// Kill ends the session as if its client had left: both control connections close, its
// data connections are reset, a parked loop is woken to end, and its records are written as for any
// session that ends. by says who killed it, for the log and the session record. Killing a
// session twice, or one that has ended, is harmless.
func (s *Session) Kill(by string) { s.endBy(by, true) }

// End ends the session as Kill does, but gently: its data connections close as they would
// after a transfer, so the bytes already sent still reach the client (a stop's drain ends
// idle sessions so).
func (s *Session) End(by string) { s.endBy(by, false) }

// endBy is Kill (reset: the data connections are reset) and End.
func (s *Session) endBy(by string, reset bool) {
	s.mu.Lock()
	first := s.ctl.killedBy == ""
	if first {
		s.ctl.killedBy = by
	}
	end := s.ctl.end
	s.mu.Unlock()
	if !first {
		return
	}
	if !reset {
		s.log.Info("session ended by ftpgate", "by", by)
	} else {
		s.log.Warn("session killed", "by", by)
		s.dc.Reset() // its data connections end with a reset: the client's transfer fails at once
	}
	if end != nil {
		end()
	}
}

// began records that the session runs now, ended by end; a session killed before it
// began ends at once.
func (s *Session) began(start time.Time, end context.CancelFunc) {
	s.mu.Lock()
	s.ctl.started, s.ctl.end = start, end
	killed := s.ctl.killedBy != ""
	s.mu.Unlock()
	if killed {
		end()
	}
}

// killedErr is the error a killed session ends with (err, and who killed it); err unchanged
// for a session nobody killed.
func (s *Session) killedErr(err error) error {
	s.mu.Lock()
	by := s.ctl.killedBy
	s.mu.Unlock()
	if by == "" {
		return err
	}
	if err == nil {
		return fmt.Errorf("%w by %s", ErrKilled, by)
	}
	return fmt.Errorf("%w by %s: %w", ErrKilled, by, err)
}

// loggedIn notes a successful login.
func (s *Session) loggedIn() {
	s.mu.Lock()
	s.ctl.loggedIn = true
	s.mu.Unlock()
}
