package script

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/policy"
)

// TestDropOnlyForPackets checks that DROP is predeclared in every script, and that the
// callbacks other than packet callbacks refuse it.
func TestDropOnlyForPackets(t *testing.T) {
	src := `
VERDICTS = {DROP: "drop", ACCEPT: "accept"}
SHOWN = str(DROP) + " " + type(DROP) + " " + VERDICTS[DROP]

def command(c, p, s):
    return DROP

def answer(c, code, t, s):
    return DROP

def transfer(t):
    return DROP

def chunk(data, t):
    return DROP

def shown(p):
    return reject(text = SHOWN)
`
	p, err := Load("d.star", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const want = "returned DROP: DROP is for packet callbacks"
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", what, err, want)
		}
	}
	_, err = p.Command(context.Background(), "command", testInfo(), "STOR", "x")
	check("command", err)
	_, err = p.Answer(context.Background(), "answer", testInfo(), "PWD", 257, `"/"`)
	check("answer", err)
	tr, err := p.TransferHook("t", "transfer", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Inspect(context.Background(), testObject(), nil)
	check("transfer", err)
	ch, err := p.ChunkHook("c", "chunk")
	if err != nil {
		t.Fatal(err)
	}
	out, err := ch.Chunk(context.Background(), testObject(), 0, []byte("x"))
	check("chunk", err)
	var refusal *Refusal
	if errors.As(err, &refusal) || out != nil {
		t.Errorf("chunk: %q %v, want a failure, not a refusal", out, err)
	}

	g, _ := p.PacketHook("g", "shown")
	d, err := g.Packet(context.Background(), testPacket("x"))
	if err != nil || d.Reason != "DROP verdict drop" {
		t.Errorf("DROP in a script: %+v %v, want DROP verdict drop", d, err)
	}

	// A script that defines DROP itself (written before DROP was predeclared) still loads.
	own, err := Load("o.star", []byte("DROP = 3\n\ndef f(c, p, s):\n    return reject(text = str(DROP))\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := own.Command(context.Background(), "f", testInfo(), "STOR", "x"); err != nil || v.Kind != policy.Reject || v.Text != "3" {
		t.Errorf("the script's own DROP: %+v %v, want reject 3", v, err)
	}
}
