package e2e

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// bed is one topology with vsftpd and ftpgate running.
type bed struct {
	tp    *testbed.Topology
	srv   *testbed.FTPServer
	gw    *scenario.Gateway
	sums  map[string]string // file name in the server root -> sha256
	sizes map[string]int64  // and its size
}

// table is the nft table name used by the tests (the default, inside the test's namespace).
const table = "ftpgate"

// newBed builds the topology, starts vsftpd and ftpgate (with extra gateway flags) and
// creates the named files of the given sizes in the server's root.
func newBed(t *testing.T, files map[string]int64, gwArgs ...string) *bed {
	t.Helper()
	return newBedWith(t, (*testbed.Topology).StartVsftpd, files, gwArgs...)
}

// newBedWith is newBed with another FTP server.
func newBedWith(t *testing.T, start func(*testbed.Topology, context.Context) (*testbed.FTPServer, error), files map[string]int64, gwArgs ...string) *bed {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root for network namespaces, nftables and TPROXY")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tp := testbed.New(t, testbed.Options{})
	srv, err := start(tp, ctx)
	if errors.Is(err, testbed.ErrNotInstalled) {
		t.Fatalf("e2e: %v", err) // make deps installs it; CI must not skip
	}
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{tp: tp, srv: srv, sums: map[string]string{}, sizes: files}
	for name, size := range files {
		sum, err := srv.MakeFile(name, size)
		if err != nil {
			t.Fatal(err)
		}
		b.sums[name] = sum
	}
	// The files must belong to the FTP user for uploads next to them; vsftpd reads them as is.
	b.gw, err = startGateway(ctx, tp, append([]string{"--log-level", "debug"}, gwArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", tail(b.gw.LogText(), 200))
		}
		if err := b.gw.Stop(); err != nil {
			t.Errorf("gateway did not stop cleanly: %v\n%s", err, tail(b.gw.LogText(), 40))
		}
		if strings.Contains(b.gw.LogText(), "DATA RACE") {
			t.Errorf("the gateway reported a data race:\n%s", b.gw.LogText())
		}
	})
	return b
}

// ctx returns a context bounded for one client run.
func (b *bed) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// server returns the server address of the family.
func (b *bed) server(v6 bool) (addr string) {
	if v6 {
		return b.tp.ServerV6.String()
	}
	return b.tp.ServerV4.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sha returns the sha256 of a file or fails the test.
func sha(t *testing.T, path string) string {
	t.Helper()
	s, err := testbed.SHA256File(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkDigest checks a transfer record's digest: on the paths through ftpgate it is the
// file's own SHA-256 and size (transfer_hash: sha256, the default); the kernel path, whose
// bytes never enter ftpgate, records none.
func checkDigest(t *testing.T, rec scenario.Record, sum string, size int64) {
	t.Helper()
	switch {
	case rec.Path == "kernel" && rec.SHA256 != "":
		t.Errorf("%s %s on the kernel path has a digest %s", rec.Command, rec.Arg, rec.SHA256)
	case rec.Path != "kernel" && (rec.SHA256 != sum || rec.Size != size):
		t.Errorf("%s %s (path %s): sha256 %q size %d, want %s %d", rec.Command, rec.Arg, rec.Path, rec.SHA256, rec.Size, sum, size)
	}
}
