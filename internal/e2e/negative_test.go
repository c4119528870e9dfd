package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// steps runs testdata/ftpcheck.py in the client namespace and returns its JSON steps by name.
func (b *bed) steps(t *testing.T, args ...string) map[string]map[string]any {
	t.Helper()
	script, err := filepath.Abs("testdata/ftpcheck.py")
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := b.tp.Exec(b.ctx(t), b.tp.Client, "python3", append([]string{script}, args...)...)
	if err != nil {
		t.Fatalf("ftpcheck %v: %v\n%s%s", args, err, out, stderr)
	}
	return parseSteps(t, out)
}

func parseSteps(t *testing.T, out string) map[string]map[string]any {
	t.Helper()
	steps := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("ftpcheck output %q: %v", line, err)
		}
		steps[fmt.Sprint(m["step"])] = m
	}
	return steps
}

// hold runs `ftpcheck.py ... hold SECONDS` (a passive reply, then seconds of nothing, then
// NOOP) in the client namespace; the scanner reads its steps, wait reaps it.
func (b *bed) hold(t *testing.T, server string, seconds int) (*bufio.Scanner, func()) {
	t.Helper()
	script, _ := filepath.Abs("testdata/ftpcheck.py")
	cmd, err := b.tp.Command(b.ctx(t), b.tp.Client, "python3", script, server, b.srv.User, b.srv.Pass, "hold", fmt.Sprint(seconds))
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return bufio.NewScanner(stdout), func() { cmd.Wait() }
}

// TestNegative checks what ftpgate refuses: PORT/EPRT naming a third host, data connections
// from a host other than the client, and expectations nobody uses.
func TestNegative(t *testing.T) {
	// The proxy path: the test watches its nftables elements (TestKernelPath does the same
	// on the kernel path).
	b := newBed(t, map[string]int64{"small.bin": small}, "--expect-timeout", "4s", "-kernel-path=false")
	for _, v6 := range []bool{false, true} {
		server, other := b.tp.ServerV4.String(), b.tp.OtherV4.String()
		fam := "v4"
		if v6 {
			server, other, fam = b.tp.ServerV6.String(), b.tp.OtherV6.String(), "v6"
		}

		t.Run("bounce/"+fam, func(t *testing.T) {
			st := b.steps(t, server, b.srv.User, b.srv.Pass, "bounce")
			for _, step := range []string{"PORT", "EPRT"} {
				if v6 && step == "PORT" {
					continue
				}
				if r := fmt.Sprint(st[step]["reply"]); !strings.HasPrefix(r, "501") {
					t.Errorf("%s naming a third host: reply %q, want 501", step, r)
				}
			}
			if r := fmt.Sprint(st["NOOP"]["reply"]); !strings.HasPrefix(r, "200") {
				t.Errorf("session did not go on after the refusal: NOOP reply %q", r)
			}
			// Nothing reached the server: vsftpd's protocol log has no PORT/EPRT at all.
			logs, _ := filepath.Glob(filepath.Join(b.tp.Dir, "vsftpd", "vsftpd*.log"))
			if len(logs) == 0 {
				t.Fatal("no vsftpd protocol log found")
			}
			for _, p := range logs {
				c, _ := os.ReadFile(p)
				for _, bad := range []string{"203,0,113,9", "203.0.113.9", "2001:db8:2::9"} {
					if strings.Contains(string(c), bad) {
						t.Errorf("the server saw the third host %s (%s)", bad, p)
					}
				}
			}
		})

		if v6 {
			t.Run("rfc2428/v6", func(t *testing.T) {
				st := b.steps(t, server, b.srv.User, b.srv.Pass, "family")
				for _, step := range []string{"PASV", "PORT", "EPSV-other", "EPRT-other"} {
					if r := fmt.Sprint(st[step]["reply"]); !strings.HasPrefix(r, "522") {
						t.Errorf("%s on an IPv6 control connection: reply %q, want 522", step, r)
					}
				}
				if r := fmt.Sprint(st["NOOP"]["reply"]); !strings.HasPrefix(r, "200") {
					t.Errorf("session did not go on: NOOP reply %q", r)
				}
				c, _ := os.ReadFile(filepath.Join(b.tp.Dir, "vsftpd", "vsftpd6.log"))
				if !strings.Contains(string(c), `FTP command: Client "2001:db8:1::2", "NOOP"`) {
					t.Fatalf("vsftpd's protocol log does not show the session's NOOP:\n%s", tail(string(c), 10))
				}
				for _, bad := range []string{`"PASV"`, `"PORT `, `"EPSV 1"`, `"EPRT |1|`} {
					if strings.Contains(string(c), bad) {
						t.Errorf("the server saw %s", bad)
					}
				}
			})
		}

		t.Run("intruder/"+fam, func(t *testing.T) {
			st := b.steps(t, server, b.srv.User, b.srv.Pass, "intruder", other, "small.bin")
			if st["intruder"]["connected"] != false {
				t.Errorf("a host other than the client connected to the expected data port: %v", st["intruder"])
			}
			if st["client"]["bytes"] != float64(small) || !strings.HasPrefix(fmt.Sprint(st["client"]["reply"]), "226") {
				t.Errorf("the real client's transfer after the intrusion attempt: %v", st["client"])
			}
			if st["again"]["dropped"] != true {
				t.Errorf("a second connection to the used data port was not dropped at the box: %v", st["again"])
			}
		})

		t.Run("expiry/"+fam, func(t *testing.T) {
			ctx := b.ctx(t)
			sc, wait := b.hold(t, server, 7)
			defer wait()
			if !sc.Scan() {
				t.Fatal("ftpcheck hold printed nothing")
			}
			if !strings.Contains(sc.Text(), "Passive Mode") {
				t.Fatalf("passive reply: %s", sc.Text())
			}
			els, err := scenario.Elements(ctx, b.tp, table)
			if err != nil || len(els) != 1 {
				t.Fatalf("after the passive reply: elements %v (err %v), want exactly one", els, err)
			}
			t.Logf("element while the expectation is fresh: %s", els[0])
			deadline := time.Now().Add(6 * time.Second)
			for len(els) > 0 && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				els, _ = scenario.Elements(ctx, b.tp, table)
			}
			if len(els) != 0 {
				t.Fatalf("expectation still in the set after its 4s timeout: %v", els)
			}
			for sc.Scan() {
				if strings.Contains(sc.Text(), "NOOP") && !strings.Contains(sc.Text(), "200") {
					t.Errorf("control session broken after expiry: %s", sc.Text())
				}
			}
		})
	}
}
