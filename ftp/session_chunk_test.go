package ftp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/inspect"
)

// maskHook replaces every "secret" with "XXXXXX" in the chunks it sees (a word split across
// two chunks passes: chunk hooks see reads, not lines), and fails on "BOOM".
type maskHook struct{}

func (maskHook) Name() string { return "mask" }
func (maskHook) Chunk(_ context.Context, _ *inspect.Object, _ int, data []byte) ([]byte, error) {
	if bytes.Contains(data, []byte("BOOM")) {
		return nil, errors.New("cannot parse BOOM")
	}
	if bytes.Contains(data, []byte("VETO")) {
		return nil, refusal{}
	}
	if !bytes.Contains(data, []byte("secret")) {
		return data, nil
	}
	return bytes.ReplaceAll(data, []byte("secret"), []byte("XXXXXX")), nil
}

// refusal is a chunk hook's refusal (as a Starlark reject() gives one).
type refusal struct{}

func (refusal) Error() string { return "no VETO here" }
func (refusal) Refused() bool { return true }

// dropHook drops every chunk that holds "DROP".
type dropHook struct{}

func (dropHook) Name() string { return "drop" }
func (dropHook) Chunk(_ context.Context, _ *inspect.Object, _ int, data []byte) ([]byte, error) {
	if bytes.Contains(data, []byte("DROP")) {
		return data[:0], nil
	}
	return data, nil
}

// TestChunkHooksRewrite: in chunk mode the client gets the bytes as the hooks left them,
// and the record counts both sides: bytes_received and sha256_received what the server
// sent, bytes_to_client, size and sha256 what the client got.
func TestChunkHooksRewrite(t *testing.T) {
	body := []byte(strings.Repeat("public secret public\n", 10))
	hs, _ := inspectHarnessWith(t, map[string][]byte{"f": body, "d": []byte("DROP me")},
		inspect.Settings{Download: inspect.ModeChunk, ChunkHooks: []inspect.ChunkHook{maskHook{}, dropHook{}}})
	got, first, final := retr(t, hs, "f")
	want := bytes.ReplaceAll(body, []byte("secret"), []byte("XXXXXX"))
	if !bytes.Equal(got, want) || first != "150 Opening data connection." || final != "226 Transfer complete." {
		t.Fatalf("got %q (%s, %s)", got, first, final)
	}
	rec := hs.waitRecord("transfer")
	if rec["bytes_received"] != float64(len(body)) || rec["bytes_to_client"] != float64(len(want)) ||
		rec["sha256"] != fmt.Sprintf("%x", sha256.Sum256(want)) || rec["sha256_received"] != fmt.Sprintf("%x", sha256.Sum256(body)) ||
		rec["size"] != float64(len(want)) || rec["refused"] != false {
		t.Errorf("record %v", rec)
	}
	if vs := fmt.Sprint(rec["verdicts"]); !strings.Contains(vs, "1 replaced") || !strings.Contains(vs, "0 dropped") {
		t.Errorf("verdicts %s", vs)
	}
	got, _, final = retr(t, hs, "d")
	if len(got) != 0 || final != "226 Transfer complete." {
		t.Fatalf("dropped chunk: got %q, %q", got, final)
	}
	_, xs := hs.audit.records()
	if len(xs) != 2 || xs[1].BytesReceived != 7 || xs[1].BytesToClient != 0 || !strings.Contains(xs[1].Verdicts[1].Reason, "1 dropped") {
		t.Errorf("audit %+v", xs)
	}
}

// TestChunkHookFails: a chunk hook that fails ends the transfer under fail: closed (426,
// refused), and lets the chunk pass unchanged under fail: open (the verdict says so).
func TestChunkHookFails(t *testing.T) {
	body := []byte("data BOOM data")
	for _, fail := range inspect.Fails() {
		t.Run(string(fail), func(t *testing.T) {
			hs, _ := inspectHarnessWith(t, map[string][]byte{"f": body},
				inspect.Settings{Download: inspect.ModeChunk, Fail: fail, ChunkHooks: []inspect.ChunkHook{maskHook{}}})
			got, _, final := retr(t, hs, "f")
			rec := hs.waitRecord("transfer")
			vs := fmt.Sprint(rec["verdicts"])
			if fail == inspect.FailClosed {
				if len(got) != 0 || !strings.HasPrefix(final, "426 Transfer refused by inspection: mask:") || rec["refused"] != true {
					t.Fatalf("closed: got %q, %q, record %v", got, final, rec)
				}
			} else if !bytes.Equal(got, body) || final != "226 Transfer complete." || rec["refused"] != false {
				t.Fatalf("open: got %q, %q, record %v", got, final, rec)
			}
			if !strings.Contains(vs, "1 failed: cannot parse BOOM") || !strings.Contains(vs, "failed:true") {
				t.Errorf("verdicts %s", vs)
			}
		})
	}
}

// TestChunkHookRefuses: a chunk hook's refusal ends the transfer even under fail: open; the
// verdict names it and is not a failure.
func TestChunkHookRefuses(t *testing.T) {
	hs, _ := inspectHarnessWith(t, map[string][]byte{"f": []byte("a VETO b")},
		inspect.Settings{Download: inspect.ModeChunk, Fail: inspect.FailOpen, ChunkHooks: []inspect.ChunkHook{maskHook{}}})
	got, _, final := retr(t, hs, "f")
	if len(got) != 0 || final != "426 Transfer refused by inspection: mask: no VETO here." {
		t.Fatalf("got %q, %q", got, final)
	}
	_, xs := hs.audit.records()
	if len(xs) != 1 || !xs[0].Refused || len(xs[0].Verdicts) != 1 || xs[0].Verdicts[0].Allow || xs[0].Verdicts[0].Failed {
		t.Errorf("audit %+v", xs)
	}
}
