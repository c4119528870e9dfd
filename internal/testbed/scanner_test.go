package testbed

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/inspect"
)

// TestScanner: c-icap with clamd in the server namespace, asked from the gateway's by the
// ICAP hook, refuses EICAR whichever way it goes and wherever it is in the object, and
// allows clean objects of any size; clamdscan works with the scanner's clamd.conf.
func TestScanner(t *testing.T) {
	tp := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, err := tp.StartScanner(ctx, tp.Server, tp.ServerV4, filepath.Join(tp.Dir, "scanner"))
	if errors.Is(err, ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("scanner logs:\n%s", sc.Logs())
		}
		if err := sc.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	if want := "icap://203.0.113.2:1344/avscan"; sc.URL("avscan") != want {
		t.Errorf("URL %q, want %q", sc.URL("avscan"), want)
	}
	if len(EICAR()) != 68 {
		t.Fatalf("EICAR is %d bytes", len(EICAR()))
	}

	h, err := inspect.NewICAP("av", sc.URL("avscan"), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var dials atomic.Int32
	h.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return tp.DialContext(ctx, tp.GW, network, addr)
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	for _, tc := range []struct {
		name   string
		upload bool
		data   []byte
		allow  bool
	}{
		{"eicar download", false, EICAR(), false},
		{"eicar upload", true, EICAR(), false},
		{"3 MB clean", false, random(3 << 20), true},
		{"3 MB + eicar", false, append(random(3<<20), EICAR()...), false},
		{"3 MB + eicar upload", true, append(random(3<<20), EICAR()...), false},
		{"6 MB clean", false, random(6 << 20), true},
		{"6 MB clean upload", true, random(6 << 20), true},
		{"empty", false, nil, true},
	} {
		sp := inspect.NewSpool(t.TempDir(), 1<<20, 0)
		sp.Write(tc.data)
		obj := &inspect.Object{Command: "RETR", Arg: "/pub/" + strings.ReplaceAll(tc.name, " ", "_"), User: FTPUser,
			Upload: tc.upload, Size: int64(len(tc.data)),
			Client: netip.AddrPortFrom(tp.ClientV4, 40000), Server: netip.AddrPortFrom(tp.ServerV4, 21)}
		if tc.upload {
			obj.Command = "STOR"
		}
		start := time.Now()
		v, err := h.Inspect(ctx, obj, sp)
		sp.Close()
		t.Logf("%s: %+v %v (%s)", tc.name, v, err, time.Since(start).Round(time.Millisecond))
		if err != nil || v.Allow != tc.allow || (!tc.allow && !strings.Contains(v.Reason, "Eicar-Test-Signature")) {
			t.Errorf("%s: %+v %v, want allow %v", tc.name, v, err, tc.allow)
		}
	}

	// One connection served them all (OPTIONS and every request).
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections to c-icap, want 1", n)
	}

	// The virus_scan service's trickle mode sends a body it cut short when it found a
	// virus: a short body is a refusal.
	trickle, err := inspect.NewICAP("av-trickle", sc.URL("virus_scan"), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer trickle.Close()
	trickle.Dial = h.Dial
	sp := inspect.NewSpool(t.TempDir(), 1<<20, 0)
	defer sp.Close()
	sp.Write(append(random(3<<20), EICAR()...))
	v, err := trickle.Inspect(ctx, &inspect.Object{Command: "RETR", Arg: "/trickle", Server: netip.AddrPortFrom(tp.ServerV4, 21)}, sp)
	t.Logf("virus_scan, 3 MB + eicar: %+v %v", v, err)
	if err != nil || v.Allow || !strings.HasPrefix(v.Reason, "ICAP server returned ") {
		t.Errorf("virus_scan (trickle mode), 3 MB + eicar: %+v %v, want a refusal for a short body", v, err)
	}

	// clamdscan with the scanner's clamd.conf, the object on its stdin.
	if _, err := exec.LookPath("clamdscan"); err != nil {
		t.Skip("testbed: clamdscan not installed")
	}
	for _, tc := range []struct {
		data []byte
		want string
	}{{EICAR(), "Eicar-Test-Signature-NDB.UNOFFICIAL FOUND"}, {[]byte("clean"), "OK"}} {
		cmd, err := tp.Command(ctx, tp.GW, "clamdscan", "--config-file="+sc.ClamdConf, "--fdpass", "--no-summary", "-")
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = bytes.NewReader(tc.data)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("clamdscan: %q, want %q", out, tc.want)
		}
	}
}
