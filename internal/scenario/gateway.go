package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// Gateway is an ftpgate process running in the gateway namespace with JSON logs.
type Gateway struct {
	Proc *testbed.Proc
	tp   *testbed.Topology
}

// StartGateway runs `bin run --log-format json args...` in tp.GW and waits until it serves.
// The gateway has no control socket unless args give one (-control-socket PATH): the
// default path is shared by every gateway on the host.
func StartGateway(ctx context.Context, tp *testbed.Topology, bin string, args ...string) (*Gateway, error) {
	return StartGatewayIn(ctx, tp, tp.GW, bin, args...)
}

// StartGatewayIn is StartGateway in namespace ns (the second gateway of an HA topology).
func StartGatewayIn(ctx context.Context, tp *testbed.Topology, ns, bin string, args ...string) (*Gateway, error) {
	p, err := tp.Start(ns, bin, append([]string{"run", "--log-format", "json", "-control-socket", ""}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("scenario: start gateway: %w", err)
	}
	g := &Gateway{Proc: p, tp: tp}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if len(g.Logs("ftpgate running")) > 0 {
			return g, nil
		}
		select {
		case <-p.Done():
			return nil, fmt.Errorf("scenario: gateway exited at start: %v\n%s", p.Err(), readFile(p.Log))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.Stop()
	return nil, fmt.Errorf("scenario: gateway did not start in time:\n%s", readFile(p.Log))
}

// Logs returns the gateway's JSON log records whose msg is msg ("" for all).
func (g *Gateway) Logs(msg string) []map[string]any {
	f, err := os.Open(g.Proc.Log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && (msg == "" || m["msg"] == msg) {
			out = append(out, m)
		}
	}
	return out
}

// Record is one transfer record as the gateway logs it.
type Record struct {
	Session       uint64 `json:"session"`
	Client        string `json:"client"`
	Server        string `json:"server"`
	User          string `json:"user"`
	Command       string `json:"command"`
	Arg           string `json:"arg"`
	Rest          int64  `json:"rest"`
	Type          string `json:"type"`
	Direction     string `json:"direction"`
	BytesToClient int64  `json:"bytes_to_client"`
	BytesToServer int64  `json:"bytes_to_server"`
	Duration      string `json:"duration"`
	Reply         int    `json:"reply"`
	DataError     string `json:"data_error"`
	Complete      bool   `json:"complete"`
	// Path is "proxy" or "kernel"; on the kernel path the byte counts are estimates
	// (BytesEstimated).
	Path           string `json:"path"`
	BytesEstimated bool   `json:"bytes_estimated"`
	// SHA256 and Size are the digest and size of what passed in the transfer's direction,
	// on the paths through ftpgate (transfer_hash: sha256, the default).
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Records returns the transfer records logged so far.
func (g *Gateway) Records() []Record {
	var out []Record
	for _, m := range g.Logs("transfer") {
		b, _ := json.Marshal(m)
		var r Record
		if json.Unmarshal(b, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// WaitRecord waits up to 10s for a transfer record matching match.
func (g *Gateway) WaitRecord(match func(Record) bool) (Record, bool) {
	for i := 0; i < 200; i++ {
		for _, r := range g.Records() {
			if match(r) {
				return r, true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return Record{}, false
}

// Stop sends SIGTERM and waits for the gateway to exit.
func (g *Gateway) Stop() error { return g.Proc.Stop() }

// LogText returns the whole log.
func (g *Gateway) LogText() string { return readFile(g.Proc.Log) }

// NftTable returns `nft list table inet NAME` in the gateway namespace.
func NftTable(ctx context.Context, tp *testbed.Topology, name string) (string, error) {
	out, _, err := tp.Exec(ctx, tp.GW, "nft", "list", "table", "inet", name)
	return out, err
}

// Elements returns the element lines of both expectation sets, as nft lists them.
func Elements(ctx context.Context, tp *testbed.Topology, name string) ([]string, error) {
	var out []string
	for _, set := range []string{"data4", "data6"} {
		text, _, err := tp.Exec(ctx, tp.GW, "nft", "list", "set", "inet", name, set)
		if err != nil {
			return nil, err
		}
		out = append(out, elementLines(text)...)
	}
	return out, nil
}

// elementLines extracts the elements from `nft list set` output.
func elementLines(text string) []string {
	i := strings.Index(text, "elements = {")
	if i < 0 {
		return nil
	}
	body := text[i+len("elements = {"):]
	if j := strings.Index(body, "}"); j >= 0 {
		body = body[:j]
	}
	var out []string
	for _, e := range strings.Split(body, ",") {
		if e = strings.Join(strings.Fields(e), " "); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// Reload sends SIGHUP to the gateway and waits up to 10s for the log record that says how
// the reload went ("configuration reloaded" or "configuration reload failed; …"); it returns
// that record's message.
func (g *Gateway) Reload() (string, error) {
	before := len(g.Logs(""))
	if err := g.Proc.Signal(syscall.SIGHUP); err != nil {
		return "", fmt.Errorf("scenario: reload: %w", err)
	}
	for i := 0; i < 200; i++ {
		logs := g.Logs("")
		for _, m := range logs[min(before, len(logs)):] {
			if msg, _ := m["msg"].(string); strings.HasPrefix(msg, "configuration reload") {
				return msg, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("scenario: reload: no reload record in the log")
}
