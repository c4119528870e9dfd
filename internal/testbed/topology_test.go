package testbed

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pyListen accepts connections on argv[1]:argv[2] and greets each one.
const pyListen = `import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a, int(sys.argv[2])))
s.listen(16)
print("listening", flush=True)
while True:
    c, peer = s.accept()
    c.sendall(("hello " + peer[0] + "\n").encode())
    c.close()
`

// pyConnect connects to argv[1]:argv[2] within argv[3] seconds and prints
// the greeting; argv[4], if given, is the source address.
const pyConnect = `import socket, sys
src = (sys.argv[4], 0) if len(sys.argv) > 4 else None
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]), source_address=src)
print(c.makefile().readline().strip())
`

func TestTopologyRouting(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("testbed: python3 not installed")
	}
	for _, forward := range []bool{true, false} {
		t.Run("forward="+strconv.FormatBool(forward), func(t *testing.T) {
			tp := New(t, Options{Forward: forward})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, fam := range []struct {
				name                string
				server, from, other netip.Addr
			}{{"v4", tp.ServerV4, tp.ClientV4, tp.OtherV4}, {"v6", tp.ServerV6, tp.ClientV6, tp.OtherV6}} {
				t.Run(fam.name, func(t *testing.T) {
					p, err := tp.Start(tp.Server, "python3", "-c", pyListen, fam.server.String(), "5000")
					if err != nil {
						t.Fatal(err)
					}
					defer p.Stop()
					waitListening(t, ctx, tp, tp.Server, netip.AddrPortFrom(fam.server, 5000))

					start := time.Now()
					out, _, err := tp.Exec(ctx, tp.Client, "python3", "-c", pyConnect, fam.server.String(), "5000", "2")
					took := time.Since(start)
					if forward {
						if err != nil {
							t.Fatalf("client cannot reach server through gw: %v", err)
						}
						if want := "hello " + fam.from.String(); strings.TrimSpace(out) != want {
							t.Errorf("got %q, want %q", out, want)
						}
						// The second client address works when bound explicitly.
						out, _, err = tp.Exec(ctx, tp.Client, "python3", "-c", pyConnect, fam.server.String(), "5000", "2", fam.other.String())
						if want := "hello " + fam.other.String(); err != nil || strings.TrimSpace(out) != want {
							t.Errorf("from %s: got %q, %v; want %q", fam.other, out, err, want)
						}
						return
					}
					if err == nil {
						t.Fatalf("gw forwarded a connection despite its firewall: %q", out)
					}
					if took > 10*time.Second {
						t.Errorf("blocked connection took %v to fail", took)
					}
					// gw itself still reaches both sides (only forwarding is dropped).
					for _, ap := range []netip.AddrPort{netip.AddrPortFrom(fam.server, 5000)} {
						c, err := tp.DialContext(ctx, tp.GW, "tcp", ap.String())
						if err != nil {
							t.Fatalf("gw cannot reach %s: %v", ap, err)
						}
						c.Close()
					}
				})
			}
		})
	}
}

// waitListening polls ap from namespace ns until it accepts.
func waitListening(t *testing.T, ctx context.Context, tp *Topology, ns string, ap netip.AddrPort) {
	t.Helper()
	var err error
	for i := 0; i < 100; i++ {
		var c net.Conn
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err = tp.DialContext(dctx, ns, "tcp", ap.String())
		cancel()
		if err == nil {
			_, _ = bufio.NewReader(c).ReadString('\n')
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never accepted: %v", ap, err)
}

func TestExecRejectsForeignNamespace(t *testing.T) {
	tp := &Topology{Client: "a", GW: "b", Server: "c"}
	if _, _, err := tp.Exec(context.Background(), "", "true"); err == nil {
		t.Error("Exec accepted the root namespace")
	}
	if _, err := tp.Start("x", "true"); err == nil {
		t.Error("Start accepted a foreign namespace")
	}
}
