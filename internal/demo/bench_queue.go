package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// queuePattern is the packet filter row's one pattern. It is in none of the bench's files:
// they are ChaCha8 bytes from a fixed seed (testbed.MakeFile), where a given string of 37
// bytes turns up in 1 GiB with a chance of about 2^30/2^296, and the ICAP row's stamps
// (stampFiles) do not contain it either. The filter looks for it in every byte and never
// finds it, so every packet passes after a full judgement.
const queuePattern = "FTPGATE-NFQUEUE-BENCH-NEVER-IN-A-FILE"

// queuedConfig is a packet filter row's configuration: the kernel row's (data_path: kernel)
// with a packet_filter: of queuePattern, fail-closed (queue_bypass: false: a packet ftpgate
// does not judge is dropped, never let through unjudged). The packet filter row has
// transfer_hash: none, so that it does what the kernel row does plus the filter: the
// packets scanned, no digest. The row "+ sha256" (hashed) keeps the default (sha256): the
// filter then also digests the transfer's bytes for its record.
func queuedConfig(hashed bool) string {
	cfg := gatewayConfig("kernel")
	if !hashed {
		cfg += "    transfer_hash: none\n"
	}
	return cfg + fmt.Sprintf("    packet_filter:\n      patterns: [%q]\n      queue_bypass: false\n", queuePattern)
}

// isQueued reports whether row id is a packet filter row.
func isQueued(id rowID) bool { return id == rowQueued || id == rowQueuedHashed }

// writeQueuedConfig writes the packet filter rows' configurations and asks ftpgate
// (`ftpgate check`) whether it accepts them; a refusal, or a gateway without the kernel data
// path, puts the row's reason in queuedNA. Whether the packet filter can run (its queue
// chain, its queues) only the gateway's start tells: see rowUnavailable.
func (e *benchEnv) writeQueuedConfig(ctx context.Context) error {
	for i, name := range []string{"ftpgate-queued.yaml", "ftpgate-queued-sha256.yaml"} {
		e.queuedConfig[i] = filepath.Join(e.b.tp.Dir, name)
		if !e.hasDataPath {
			e.queuedNA[i] = kernelNA
			continue
		}
		na, err := e.checkConfig(ctx, e.queuedConfig[i], queuedConfig(i == 1))
		if err != nil {
			return err
		}
		e.queuedNA[i] = na
	}
	return nil
}

// checkConfig writes a row's configuration text to path and asks ftpgate (`ftpgate check`)
// whether it accepts it: "" when it does, else the row's n/a cell (checkNA), which is also
// printed.
func (e *benchEnv) checkConfig(ctx context.Context, path, text string) (string, error) {
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("gateway configuration: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, e.c.bin, "check", "-c", path).CombinedOutput()
	if err == nil {
		return "", nil
	}
	na := checkNA(string(out), err)
	e.p.step("ftpgate check -c %s: %s", filepath.Base(path), na)
	return na, nil
}

// naError is a row that cannot be measured here (this ftpgate, this kernel): cell is its
// n/a cell. It is errRowNA.
type naError struct {
	cell string
	err  error
}

// Error returns the cell and why.
func (e *naError) Error() string { return e.cell + ": " + e.err.Error() }

// Is makes a naError errRowNA.
func (e *naError) Is(target error) bool { return target == errRowNA }

// Unwrap returns why.
func (e *naError) Unwrap() error { return e.err }

// rowUnavailable turns ftpgate's failure to start for row id into a naError when it says
// that what the row needs is missing: the kernel data path (the kernel and packet filter
// rows), or the packet filter's queues (its log says "packet filter off", and ftpgate
// refuses a packet_filter: it cannot apply). It returns nil for any other failure.
func rowUnavailable(id rowID, err error) error {
	msg := err.Error()
	if isQueued(id) {
		if na := packetFilterNA(msg); na != "" {
			return &naError{cell: na, err: err}
		}
	}
	if (id == rowKernel || isQueued(id)) && strings.Contains(msg, "data_path") {
		return &naError{cell: kernelNA, err: err}
	}
	return nil
}

// packetFilterNA is the packet filter row's cell when log (ftpgate's JSON log lines, as a
// failed start reports them) says "packet filter off": the message without its trailing
// explanation in parentheses, with the error it logged; "" when the log does not say so.
func packetFilterNA(log string) string {
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &m) != nil {
			continue
		}
		msg, _ := m["msg"].(string)
		if !strings.HasPrefix(msg, "packet filter off") {
			continue
		}
		if head, rest, ok := strings.Cut(msg, ": "); ok {
			rest, _, _ = strings.Cut(rest, " (")
			msg = head + ": " + rest
		}
		if e, _ := m["err"].(string); e != "" {
			msg += ": " + e
		}
		return "n/a (" + msg + ")"
	}
	return ""
}

// benchTransfers are the commands and file names of a run's transfers.
var benchTransfers = []struct{ command, name string }{{"RETR", benchFile}, {"STOR", uploadName}}

// checkFiltered proves, on a packet filter row, that the run's RETR and STOR took the
// kernel path under the filter (filterAccount), and on the "+ sha256" row that the filter
// digested them; other rows pass.
func checkFiltered(g *scenario.Gateway, id rowID, size int64) error {
	if !isQueued(id) {
		return nil
	}
	var errs []error
	for _, t := range benchTransfers {
		rec := lastRecord(g.Logs("transfer"), t.command, t.name)
		_, err := filterAccount(rec, size)
		if err == nil && id == rowQueuedHashed && rec["sha256"] == nil {
			err = errors.New("no sha256: the filter did not digest it")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("transfer record of %s %s: %w", t.command, t.name, err))
		}
	}
	return errors.Join(errs...)
}

// lastRecord returns the last of recs (transfer records as logged) for command on name, nil
// when there is none.
func lastRecord(recs []map[string]any, command, name string) map[string]any {
	var rec map[string]any
	for _, m := range recs {
		if m["command"] == command && m["arg"] == name {
			rec = m
		}
	}
	return rec
}

// filterAccount returns the packet filter's account in rec, a transfer record of size bytes,
// after checking that the transfer took the kernel path under the filter and that the filter
// judged every byte: at least size payload bytes judged (retransmissions count again), none
// passed unjudged, nothing stopped.
func filterAccount(rec map[string]any, size int64) (map[string]any, error) {
	if rec == nil {
		return nil, errors.New("none")
	}
	if rec["path"] != "kernel" {
		return nil, fmt.Errorf("path %v, want kernel", rec["path"])
	}
	pf, _ := rec["packet_filter"].(map[string]any)
	if pf == nil {
		return nil, errors.New("no packet_filter: the data connection was not queued")
	}
	if s, _ := pf["stopped"].(string); s != "" {
		return nil, fmt.Errorf("the packet filter stopped it: %s", s)
	}
	if n := num(pf, "unjudged_bytes"); n > 0 {
		return nil, fmt.Errorf("%.0f bytes passed unjudged", n)
	}
	if n := num(pf, "bytes"); n < float64(size) {
		return nil, fmt.Errorf("the packet filter judged %.0f bytes, want at least %d", n, size)
	}
	return pf, nil
}

// num is the number under key in m, 0 when there is none.
func num(m map[string]any, key string) float64 {
	v, _ := m[key].(float64)
	return v
}

// filterNote is the packet filter row's part of the progress line: per transfer, the packets
// the filter judged, their mean payload (the GSO packets' size), those held until earlier
// bytes came (reordered), the drops (out of order: earlier bytes missing) and the longest
// wait for a verdict; "" on other rows.
func filterNote(g *scenario.Gateway, id rowID, size int64) string {
	if !isQueued(id) {
		return ""
	}
	var s []string
	for _, t := range benchTransfers {
		pf, err := filterAccount(lastRecord(g.Logs("transfer"), t.command, t.name), size)
		if err != nil {
			continue // checkFiltered said so
		}
		pkts := num(pf, "packets")
		s = append(s, fmt.Sprintf("%s %.0f pkts of %.1f KiB, %.0f reordered, %.0f dropped (%.0f out of order), hold ≤%.1f ms",
			t.command, pkts, num(pf, "bytes")/max(pkts, 1)/1024, num(pf, "reordered"), num(pf, "dropped"),
			num(pf, "out_of_order"), num(pf, "max_hold_ms")))
	}
	return "  filter: " + strings.Join(s, "; ")
}

// gatewayCPU returns the CPU time (user and system) ftpgate's process in g has used so far,
// in seconds; false without a gateway or when its /proc entry cannot be read.
func gatewayCPU(g *scenario.Gateway) (float64, bool) {
	if g == nil {
		return 0, false
	}
	pid, err := childPID(g.Proc.Pid())
	if err != nil {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	ticks, err := parseStatCPU(string(b))
	if err != nil {
		return 0, false
	}
	return float64(ticks) / userHZ, true
}

// parseStatCPU returns utime + stime (fields 14 and 15) from the text of /proc/PID/stat, in
// ticks; the fields are counted after the command name's last ')'.
func parseStatCPU(text string) (uint64, error) {
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", text)
	}
	f := strings.Fields(text[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %q: too few fields", text)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat %q: CPU times: %w", text, err)
	}
	return utime + stime, nil
}
