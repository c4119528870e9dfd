package scenario

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// PyTLSOptions adjust a PyTLS run.
type PyTLSOptions struct {
	// Reuse resumes the control connection's TLS session on data
	// connections (what vsftpd's require_ssl_reuse=YES demands; plain
	// ftplib does not).
	Reuse bool
	// Implicit speaks TLS from the first byte; Port then defaults to 990.
	Implicit bool
	// Port is the control port; 0 means 21 (990 when Implicit).
	Port int
	// CAFile verifies the server certificate (and the IP address against
	// its SANs); "" accepts any certificate.
	CAFile string
	// TLSMax caps the TLS version: "1.2", "1.3" or "" for no cap.
	TLSMax string
}

// PyTLSResult is what the FTPS client script reports.
type PyTLSResult struct {
	// Stdout has the result lines (CONTROL, CERT, DATA, GET, PUT, LIST).
	Stdout string
	// Transcript is the FTP dialogue ("---> CMD", "<--- reply").
	Transcript string
	// Version is the control connection's TLS version, e.g. "TLSv1.3".
	Version string
	// DataReused says, per protected data connection in order, whether
	// its TLS handshake resumed a session.
	DataReused []bool
}

// PyTLS runs the FTPS client script (testbed.FTPTLSScriptPath, Python
// ftplib.FTP_TLS with PROT P) in the client namespace against addr in mode m
// (any of the four modes on either family). ops are the script's
// operations: "get:REMOTE:LOCAL", "put:LOCAL:REMOTE", "list[:PATH]",
// "cmd:COMMAND". It checks that m was used.
func PyTLS(ctx context.Context, tp *testbed.Topology, srv *testbed.FTPServer, addr netip.Addr, m Mode, o PyTLSOptions, ops ...string) (PyTLSResult, error) {
	script, err := tp.FTPTLSScript()
	if err != nil {
		return PyTLSResult{}, fmt.Errorf("scenario: %w", err)
	}
	port := o.Port
	if port == 0 {
		port = 21
		if o.Implicit {
			port = testbed.ImplicitPort
		}
	}
	args := []string{script, "--host", addr.String(), "--port", strconv.Itoa(port),
		"--user", srv.User, "--password", srv.Pass, "--mode", string(m)}
	if o.Reuse {
		args = append(args, "--reuse")
	}
	if o.Implicit {
		args = append(args, "--implicit")
	}
	if o.CAFile != "" {
		args = append(args, "--cafile", o.CAFile)
	}
	if o.TLSMax != "" {
		args = append(args, "--tls-max", o.TLSMax)
	}
	stdout, stderr, err := tp.Exec(ctx, tp.Client, "python3", append(args, ops...)...)
	res := parsePyTLS(stdout, stderr)
	if err != nil {
		return res, fmt.Errorf("scenario: ftptls %s: %w", m, err)
	}
	if len(ops) > 0 && !strings.Contains(stderr, "---> "+string(m)) && hasTransfer(ops) {
		return res, fmt.Errorf("scenario: ftptls did not use %s:\n%s", m, stderr)
	}
	return res, nil
}

// hasTransfer reports whether ops open a data connection.
func hasTransfer(ops []string) bool {
	for _, op := range ops {
		if !strings.HasPrefix(op, "cmd:") {
			return true
		}
	}
	return false
}

// parsePyTLS reads the script's result lines.
func parsePyTLS(stdout, stderr string) PyTLSResult {
	r := PyTLSResult{Stdout: stdout, Transcript: stderr}
	for _, line := range strings.Split(stdout, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			switch {
			case fields[0] == "CONTROL" && k == "version":
				r.Version = v
			case fields[0] == "DATA" && k == "reused":
				r.DataReused = append(r.DataReused, v == "True")
			}
		}
	}
	return r
}
