package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// pyConnectFrom connects from argv[1] to argv[2]:argv[3] within 1.5 s and prints
// "connected" or the error.
const pyConnectFrom = `import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_STREAM)
s.bind((src, 0))
s.settimeout(1.5)
try:
    s.connect((dst, port))
    s.sendall(b"thief")
    print("connected")
except OSError as e:
    print("refused:", e)
`

// activeTarget finds the address the server was last told by PORT or EPRT in vsftpd's
// protocol log.
var activeTarget = regexp.MustCompile(`"(?:PORT (\d+),(\d+),(\d+),(\d+),(\d+),(\d+)|EPRT \|[12]\|([^|]+)\|(\d+)\|)"`)

func lastActiveTarget(t *testing.T, logFile string) netip.AddrPort {
	t.Helper()
	c, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	all := activeTarget.FindAllStringSubmatch(string(c), -1)
	if len(all) == 0 {
		t.Fatalf("no PORT or EPRT in %s", logFile)
	}
	m := all[len(all)-1]
	if m[7] != "" {
		port, _ := strconv.Atoi(m[8])
		return netip.AddrPortFrom(netip.MustParseAddr(m[7]), uint16(port))
	}
	var b [6]byte
	for i := range b {
		n, _ := strconv.Atoi(m[i+1])
		b[i] = byte(n)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), uint16(b[4])<<8|uint16(b[5]))
}

// TestActiveTheft: in the active modes a host on the server's side that connects to the port
// the server was told, before the server does, reaches nothing — the expectation admits only
// the server's own address — and the client's transfer then works in full.
func TestActiveTheft(t *testing.T) {
	b := newBed(t, map[string]int64{"small.bin": small}, "-kernel-path=false") // the proxy path: it counts nftables elements
	script, err := filepath.Abs("testdata/ftpcheck.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fam, mode string
		server    netip.Addr
		thief     netip.Addr
		log       string
	}{
		{"v4", "PORT", b.tp.ServerV4, b.tp.OtherServerV4, "vsftpd4.log"},
		{"v4", "EPRT", b.tp.ServerV4, b.tp.OtherServerV4, "vsftpd4.log"},
		{"v6", "EPRT", b.tp.ServerV6, b.tp.OtherServerV6, "vsftpd6.log"},
	} {
		t.Run(c.mode+"/"+c.fam, func(t *testing.T) {
			ctx := b.ctx(t)
			cmd, err := b.tp.Command(ctx, b.tp.Client, "python3", script, c.server.String(), b.srv.User, b.srv.Pass,
				"activetheft", c.mode, "small.bin")
			if err != nil {
				t.Fatal(err)
			}
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer stdin.Close()
			sc := bufio.NewScanner(stdout)
			step := func() map[string]any {
				t.Helper()
				if !sc.Scan() {
					t.Fatal("ftpcheck activetheft stopped early")
				}
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("ftpcheck output %q: %v", sc.Text(), err)
				}
				return m
			}
			if r := fmt.Sprint(step()["reply"]); !strings.HasPrefix(r, "200") {
				t.Fatalf("%s: reply %q", c.mode, r)
			}
			target := lastActiveTarget(t, filepath.Join(b.tp.Dir, "vsftpd", c.log))
			els, err := scenario.Elements(ctx, b.tp, table)
			if err != nil || len(els) != 1 {
				t.Fatalf("after %s: elements %v (err %v), want exactly one", c.mode, els, err)
			}
			out, _, _ := b.tp.Exec(ctx, b.tp.Server, "python3", "-c", pyConnectFrom, c.thief.String(), target.Addr().String(), strconv.Itoa(int(target.Port())))
			if !strings.HasPrefix(out, "refused") {
				t.Errorf("a second host on the server side reached %s, the port the server was told: %q", target, out)
			}
			if _, err := stdin.Write([]byte("go\n")); err != nil {
				t.Fatal(err)
			}
			got := step()
			if got["bytes"] != float64(small) || !strings.HasPrefix(fmt.Sprint(got["reply"]), "226") || got["connections"] != float64(1) {
				t.Errorf("the client's transfer after the theft attempt: %v (want %d bytes, 226, one connection)", got, small)
			}
		})
	}
}
