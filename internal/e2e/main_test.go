package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// gatewayBin is the ftpgate binary built for this test run.
var gatewayBin string

// proxyPass is set by FTPGATE_E2E_PATH=proxy: every gateway runs with the kernel path off
// (-kernel-path=false), so the whole suite runs with every data channel through ftpgate.
// The tests of the kernel path itself skip in this pass; the default pass runs them.
var proxyPass = os.Getenv("FTPGATE_E2E_PATH") == "proxy"

// startGateway starts ftpgate in tp's gw namespace with args, and with -kernel-path=false in
// the proxy pass.
func startGateway(ctx context.Context, tp *testbed.Topology, args ...string) (*scenario.Gateway, error) {
	if proxyPass {
		args = append(args, "-kernel-path=false")
	}
	return scenario.StartGateway(ctx, tp, gatewayBin, args...)
}

// needKernelPath skips a test of the kernel path in the proxy pass.
func needKernelPath(t *testing.T) {
	t.Helper()
	if proxyPass {
		t.Skip("FTPGATE_E2E_PATH=proxy: the kernel path is off in this pass (the default pass tests it)")
	}
}

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("e2e: skipping end-to-end tests: they need root for network namespaces, nftables and TPROXY")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ftpgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatewayBin = filepath.Join(dir, "ftpgate")
	args := []string{"build", "-o", gatewayBin}
	if os.Getenv("FTPGATE_E2E_RACE") == "1" {
		// The gateway under the race detector: a race makes it exit 66 and the test fail.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/ftpgate/ftpgate/cmd/ftpgate")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build ftpgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
