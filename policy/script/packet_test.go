package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/pktfilter"
)

// packets is a script with packet callbacks: PacketHook's example, one per kind of result,
// and one per mistake.
const packets = `
def guard(packet):
    if "CONFIDENTIAL" in packet.data:
        return reject(text = "confidential data in " + packet.arg)
    if packet.direction == "download" and packet.to_client:
        return packet.data.replace("password=", "password*")
    return ACCEPT

def pass_const(p):
    return ACCEPT

def pass_call(p):
    return accept()

def drop_const(p):
    return DROP

def drop_none(p):
    pass

def same(p):
    return p.data

def empty(p):
    return ""

def upper_bytes(p):
    return bytes(p.data.upper())

def binary(p):
    return p.data.replace("\x00", "-")

def refuse_default(p):
    return reject()

def refuse_code(p):
    return reject(550, "no " + p.command)

def upload_only(p):
    if p.to_client:
        return DROP
    return ACCEPT

def show(p):
    return reject(text = "%s %d %s %s %d %s %s %s %s %d %s %s %s" % (
        p.data, p.offset, p.to_client, p.direction, p.session, p.user,
        p.command, p.arg, p.type, p.rest, type(p.data), type(p.offset), type(p.to_client)))

def fields(p):
    return reject(text = " ".join(dir(p)))

def longer(p):
    return p.data + "x"

def shorter(p):
    return p.data[1:]

def aborts(p):
    return ABORT

def changes(p):
    return change(250, "x")

def rewrites(p):
    return accept("x")

def wrong(p):
    return 42

def listed(p):
    return [p.data]

def fails(p):
    fail("bad packet at %d" % p.offset)

def spin(p):
    while True:
        pass

def freeze(p):
    p.offset = 0
    return ACCEPT

def two(a, b):
    return ACCEPT

N = 1
`

func loadPackets(t testing.TB, opts Options) *Program {
	t.Helper()
	p, err := Load("pk.star", []byte(packets), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testPacket is a packet of a download toward the client, with data as its payload.
func testPacket(data string) *pktfilter.CallbackPacket {
	return &pktfilter.CallbackPacket{
		Data:     []byte(data),
		Offset:   4096,
		ToClient: true,
		Meta: pktfilter.Meta{
			Session:   42,
			User:      "alice",
			Command:   "RETR",
			Arg:       "/pub/a.csv",
			Rest:      100,
			Type:      "I",
			Direction: "download",
		},
	}
}

func TestPacketHook(t *testing.T) {
	p := loadPackets(t, Options{MaxSteps: 5000})
	up := func(pkt *pktfilter.CallbackPacket) {
		pkt.ToClient, pkt.Meta.Command, pkt.Meta.Direction = false, "STOR", "upload"
	}
	accept := pktfilter.Decision{Action: pktfilter.Accept}
	drop := pktfilter.Decision{Action: pktfilter.Drop}
	tests := []struct {
		name    string
		fn      string
		data    string
		pkt     func(*pktfilter.CallbackPacket)
		want    pktfilter.Decision
		wantErr []string // substrings of the error; nil: no error
	}{
		{name: "example rewrites", fn: "guard", data: "user=a password=b", want: pktfilter.Decision{Action: pktfilter.Rewrite, Data: []byte("user=a password*b")}},
		{name: "example, nothing to rewrite", fn: "guard", data: "user=a", want: accept},
		{name: "example, upload passes", fn: "guard", data: "password=b", pkt: up, want: accept},
		{name: "example, before the command", fn: "guard", data: "password=b",
			pkt: func(pkt *pktfilter.CallbackPacket) { pkt.Meta.Command, pkt.Meta.Direction = "", "" }, want: accept},
		{name: "example stops", fn: "guard", data: "a CONFIDENTIAL b", pkt: up,
			want: pktfilter.Decision{Action: pktfilter.Stop, Reason: "confidential data in /pub/a.csv"}},
		{name: "ACCEPT", fn: "pass_const", data: "x", want: accept},
		{name: "accept()", fn: "pass_call", data: "x", want: accept},
		{name: "DROP", fn: "drop_const", data: "x", want: drop},
		{name: "None", fn: "drop_none", data: "x", want: drop},
		{name: "data itself", fn: "same", data: "hello", want: accept},
		{name: "empty packet, empty string", fn: "empty", data: "", want: accept},
		{name: "empty packet, None", fn: "drop_none", data: "", want: drop},
		{name: "bytes", fn: "upper_bytes", data: "hello", want: pktfilter.Decision{Action: pktfilter.Rewrite, Data: []byte("HELLO")}},
		{name: "raw bytes", fn: "binary", data: "\xff\x00\xfe\x00\x80", want: pktfilter.Decision{Action: pktfilter.Rewrite, Data: []byte("\xff-\xfe-\x80")}},
		{name: "reject default", fn: "refuse_default", data: "x", want: pktfilter.Decision{Action: pktfilter.Stop, Reason: "refused by refuse_default"}},
		{name: "reject code ignored", fn: "refuse_code", data: "x", want: pktfilter.Decision{Action: pktfilter.Stop, Reason: "no RETR"}},
		{name: "toward the server", fn: "upload_only", data: "x",
			pkt: func(pkt *pktfilter.CallbackPacket) { pkt.ToClient = false }, want: accept},
		{name: "toward the client", fn: "upload_only", data: "x",
			pkt: func(pkt *pktfilter.CallbackPacket) { pkt.ToClient = true }, want: drop},

		{name: "longer", fn: "longer", data: "abc", wantErr: []string{"g: script: callback longer changed the packet's length from 3 to 4 bytes: a packet callback may only rewrite bytes in place"}},
		{name: "shorter", fn: "shorter", data: "abc", wantErr: []string{"callback shorter changed the packet's length from 3 to 2 bytes"}},
		{name: "empty string", fn: "empty", data: "abc", wantErr: []string{"callback empty changed the packet's length from 3 to 0 bytes"}},
		{name: "ABORT", fn: "aborts", data: "x", wantErr: []string{"g: script: callback aborts returned ABORT, want ACCEPT, accept(), DROP, reject(), None"}},
		{name: "change", fn: "changes", data: "x", wantErr: []string{`callback changes returned change(250, "x"), want ACCEPT`}},
		{name: "accept(param)", fn: "rewrites", data: "x", wantErr: []string{`callback rewrites returned accept("x"), want ACCEPT`}},
		{name: "int", fn: "wrong", data: "x", wantErr: []string{"g: script: callback wrong returned int, want ACCEPT, accept(), DROP, reject(), None, or a string or bytes as long as the packet's data"}},
		{name: "list", fn: "listed", data: "x", wantErr: []string{"callback listed returned list, want"}},
		{name: "raises", fn: "fails", data: "x", wantErr: []string{"g: script: callback fails: pk.star:", "bad packet at 4096"}},
		{name: "step limit", fn: "spin", data: "x", wantErr: []string{"g: script: callback spin exceeded 5000 steps"}},
		{name: "frozen", fn: "freeze", data: "x", wantErr: []string{"callback freeze", "can't assign to .offset field"}},
		{name: "arity", fn: "two", data: "x", wantErr: []string{"function two missing 1 argument (b)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := p.PacketHook("g", tt.fn)
			if err != nil {
				t.Fatal(err)
			}
			pkt := testPacket(tt.data)
			if tt.pkt != nil {
				tt.pkt(pkt)
			}
			got, err := h.Packet(context.Background(), pkt)
			checkDecision(t, got, err, tt.want, tt.wantErr)
			if string(pkt.Data) != tt.data {
				t.Errorf("the packet's data became %q", pkt.Data)
			}
			if got.Action == pktfilter.Rewrite && len(got.Data) > 0 && &got.Data[0] == &pkt.Data[0] {
				t.Error("the rewritten data is the packet's own")
			}
		})
	}
}

// checkDecision checks a packet callback's result: want when wantErr is nil, else an error
// that contains each of wantErr.
func checkDecision(t *testing.T, got pktfilter.Decision, err error, want pktfilter.Decision, wantErr []string) {
	t.Helper()
	if wantErr == nil {
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if got.Action != want.Action || !bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) || got.Reason != want.Reason {
			t.Errorf("decision %+v, want %+v", got, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("decision %+v, want an error", got)
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestPacketFields(t *testing.T) {
	p := loadPackets(t, Options{})
	h, err := p.PacketHook("g", "show")
	if err != nil {
		t.Fatal(err)
	}
	pkt := testPacket("hi")
	pkt.Meta.Session = 1 << 63
	got, err := h.Packet(context.Background(), pkt)
	if err != nil {
		t.Fatal(err)
	}
	want := "hi 4096 True download 9223372036854775808 alice RETR /pub/a.csv I 100 string int bool"
	if got.Reason != want {
		t.Errorf("fields\n %q, want\n %q", got.Reason, want)
	}

	h, _ = p.PacketHook("g", "fields")
	got, err = h.Packet(context.Background(), &pktfilter.CallbackPacket{})
	if err != nil {
		t.Fatal(err)
	}
	want = "arg command data direction offset rest session to_client type user"
	if got.Reason != want {
		t.Errorf("field names %q, want %q", got.Reason, want)
	}
}

func TestPacketHookConstructor(t *testing.T) {
	p := loadPackets(t, Options{})
	for _, fn := range []string{"missing", "N", ""} {
		if _, err := p.PacketHook("g", fn); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("no function %q in pk.star", fn)) {
			t.Errorf("PacketHook(%q): error %v, want no function", fn, err)
		}
	}
	h, err := p.PacketHook("", "guard")
	if err != nil {
		t.Fatal(err)
	}
	if h.Name() != "guard" {
		t.Errorf("name %q, want guard", h.Name())
	}
	h, _ = p.PacketHook("filter", "guard")
	if h.Name() != "filter" {
		t.Errorf("name %q, want filter", h.Name())
	}
}

func TestPacketHookCancel(t *testing.T) {
	p := loadPackets(t, Options{MaxSteps: 1 << 62}) // only the context can stop spin
	h, err := p.PacketHook("g", "spin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline during a runaway", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, context.DeadlineExceeded},
		{"canceled before the call", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				_, err := h.Packet(ctx, testPacket("x"))
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute): // a hang guard
				t.Fatal("the callback did not stop when its context was done")
			}
			// The call stops at its next step once the context is done; 5 s is far beyond
			// that even on a loaded machine, and far below a runaway's 1<<62 steps.
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("the call returned %s after it started, want promptly after its 20ms deadline", elapsed)
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "g: script: callback spin") {
				t.Errorf("error %v, want %v naming the callback", err, tt.want)
			}
		})
	}
}

func TestPacketHookConcurrent(t *testing.T) {
	p := loadPackets(t, Options{})
	h, err := p.PacketHook("g", "guard")
	if err != nil {
		t.Fatal(err)
	}
	concurrently(t, func(g, i int) error {
		pkt := testPacket(fmt.Sprintf("%d password=%d", g, i))
		want := pktfilter.Decision{Action: pktfilter.Rewrite, Data: fmt.Appendf(nil, "%d password*%d", g, i)}
		if i%3 == 0 {
			pkt = testPacket(fmt.Sprintf("%d CONFIDENTIAL %d", g, i))
			pkt.Meta.Arg = fmt.Sprintf("/f%d-%d", g, i)
			want = pktfilter.Decision{Action: pktfilter.Stop, Reason: "confidential data in " + pkt.Meta.Arg}
		}
		got, err := h.Packet(context.Background(), pkt)
		if err != nil || got.Action != want.Action || !bytes.Equal(got.Data, want.Data) || got.Reason != want.Reason {
			return fmt.Errorf("goroutine %d packet %d: %+v %v, want %+v", g, i, got, err, want)
		}
		return nil
	})
}

// BenchmarkPacketHook runs PacketHook's example on a full-sized packet with a "password="
// in it: a rewrite.
func BenchmarkPacketHook(b *testing.B) {
	p := loadPackets(b, Options{})
	h, err := p.PacketHook("g", "guard")
	if err != nil {
		b.Fatal(err)
	}
	pkt := testPacket(strings.Repeat("x", 700) + "password=" + strings.Repeat("y", 739))
	b.SetBytes(int64(len(pkt.Data)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := h.Packet(context.Background(), pkt)
		if err != nil || d.Action != pktfilter.Rewrite {
			b.Fatalf("%+v %v", d, err)
		}
	}
}
