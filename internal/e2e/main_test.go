package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// gatewayBin is the ftpgate binary built for this test run.
var gatewayBin string

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
