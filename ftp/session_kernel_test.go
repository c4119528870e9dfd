package ftp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/ftptest"
	"github.com/ftpgate/ftpgate/kpath"
	"github.com/ftpgate/ftpgate/policy"
)

// TestKernelRefusedFallsBack: when the kernel refuses a pinhole (another expectation holds
// the same tuple), data_path auto puts the channel through ftpgate, and the client gets its
// 227; data_path kernel refuses the PASV with 425 instead.
func TestKernelRefusedFallsBack(t *testing.T) {
	for _, c := range []struct {
		path policy.DataPath
		want string
	}{{policy.PathAuto, "227 "}, {policy.PathKernel, "425 "}} {
		t.Run(string(c.path), func(t *testing.T) {
			k := kpath.NewFake()
			k.FailOpen = errors.New("netlink receive: file exists")
			var hs *harness
			hs = newHarnessWith(t, 30*time.Second, Config{Spoof: true, Linger: 2 * time.Second, Kernel: k, DataPath: c.path},
				func(conn *ftptest.Conn, line string) {
					if line == "PASV" {
						conn.Reply(pasvText(loop, hs.dataPort()))
					}
				})
			if got := hs.cmd("PASV"); !strings.HasPrefix(got, c.want) {
				t.Fatalf("PASV: %q, want %s", got, c.want)
			}
			want := fmt.Sprintf("127.0.0.1 . 127.0.0.1 . %d", hs.dataPort())
			if got := hs.elements(); (c.path == policy.PathAuto) != strings.Contains(got, want) {
				t.Errorf("nftables elements %q; want %q only with auto", got, want)
			}
		})
	}
}
