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
	build := exec.Command("go", "build", "-o", gatewayBin, "github.com/ftpgate/ftpgate/cmd/ftpgate")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build ftpgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
