package testbed_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

func TestZZDebug(t *testing.T) {
	if os.Getenv("TLSDEBUG") == "" {
		t.Skip()
	}
	b := newTLSBed(t, "vsftpd")
	ctx := tlsCtx(t)
	srv, err := b.tp.StartVsftpdWith(ctx, testbed.VsftpdOptions{TLS: &testbed.TLSOptions{
		CertFile: b.cert, KeyFile: b.key, RequireReuse: true, Implicit: true}})
	if err != nil {
		t.Fatal(err)
	}
	srv.MakeFile("file", 1<<20)
	f, _ := os.Create("/tmp/tlsdebug.env")
	fmt.Fprintf(f, "C=%s\nS=%s\nDIR=%s\nCA=%s\nROOT=%s\n", b.tp.Client, b.tp.Server, b.tp.Dir, b.pki.CACert, srv.Root)
	f.Close()
	time.Sleep(200 * time.Second)
}
