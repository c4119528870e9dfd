package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// curlTimeout bounds one curl run.
const curlTimeout = 30 * time.Second

// leg is one data mode on one address family.
type leg struct {
	v6   bool
	mode scenario.Mode
}

// String is the leg as the output shows it, e.g. "IPv4 PASV".
func (l leg) String() string {
	if l.v6 {
		return "IPv6 " + string(l.mode)
	}
	return "IPv4 " + string(l.mode)
}

// slug is the leg in file names, e.g. "v4-pasv".
func (l leg) slug() string {
	fam := "v4"
	if l.v6 {
		fam = "v6"
	}
	return fam + "-" + strings.ToLower(string(l.mode))
}

// legs lists every mode usable on each family: PASV and PORT carry only IPv4 addresses.
func legs() []leg {
	var out []leg
	for _, v6 := range []bool{false, true} {
		for _, m := range scenario.Modes(v6) {
			out = append(out, leg{v6: v6, mode: m})
		}
	}
	return out
}

// expect is a transfer the demo made, for checking the gateway's record of it.
type expect struct {
	leg     leg
	command string // RETR or STOR
	arg     string // the file name
	bytes   int64
}

// transfers downloads a file of downSize bytes and uploads one of upSize bytes in every leg,
// with curl in the client namespace, and compares the SHA-256 of what arrived with what was
// sent. It stops at the first failure and returns the transfers made so far.
func transfers(ctx context.Context, p *printer, b *bed, downSize, upSize int64) ([]expect, error) {
	master := "demo.bin"
	downSum, err := b.srv.MakeFile(master, downSize)
	if err != nil {
		return nil, fmt.Errorf("make download file: %w", err)
	}
	upload := filepath.Join(b.dir, "upload.bin")
	upSum, err := testbed.MakeFile(upload, upSize)
	if err != nil {
		return nil, fmt.Errorf("make upload file: %w", err)
	}
	p.step("transfers: curl in the client namespace, RETR %s and STOR %s per mode, sha256 compared", mib(downSize), mib(upSize))
	var done []expect
	sawV6 := false
	for _, l := range legs() {
		if l.v6 && !sawV6 {
			sawV6 = true
			p.detail("IPv6: EPSV and EPRT only; PASV and PORT cannot carry IPv6 addresses (RFC 2428)")
		}
		addr := b.tp.ServerV4
		if l.v6 {
			addr = b.tp.ServerV6
		}
		get := "get-" + l.slug() + ".bin"
		if err := os.Link(filepath.Join(b.srv.Root, master), filepath.Join(b.srv.Root, get)); err != nil {
			return done, fmt.Errorf("%s: link download file: %w", l, err)
		}
		gd, err := download(ctx, b, l, addr, get, downSum)
		if err != nil {
			return done, err
		}
		done = append(done, expect{leg: l, command: "RETR", arg: get, bytes: downSize})
		put := "put-" + l.slug() + ".bin"
		pd, err := uploadFile(ctx, b, l, addr, upload, put, upSum)
		if err != nil {
			return done, err
		}
		done = append(done, expect{leg: l, command: "STOR", arg: put, bytes: upSize})
		p.detail("%-9s  RETR %-16s %5.2fs sha256 ok   STOR %-16s %5.2fs sha256 ok", l, get, gd.Seconds(), put, pd.Seconds())
	}
	return done, nil
}

// download fetches name from the server at addr into the client's directory and checks its
// SHA-256 against want. It returns how long curl took.
func download(ctx context.Context, b *bed, l leg, addr netip.Addr, name, want string) (time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, curlTimeout)
	defer cancel()
	local := filepath.Join(b.dir, "client-"+name)
	defer os.Remove(local)
	start := time.Now()
	tr, err := scenario.Curl(cctx, b.tp, l.mode, "-o", local, scenario.URL(b.srv, addr, name))
	d := time.Since(start)
	if err != nil {
		return d, curlFailure(fmt.Sprintf("%s RETR %s", l, name), err, tr)
	}
	got, err := testbed.SHA256File(local)
	if err != nil {
		return d, fmt.Errorf("%s RETR %s: %w", l, name, err)
	}
	if got != want {
		return d, fmt.Errorf("%s RETR %s: sha256 %s, sent %s", l, name, got, want)
	}
	return d, nil
}

// uploadFile stores the client's file src on the server at addr as name and checks the
// server's copy against want. It returns how long curl took.
func uploadFile(ctx context.Context, b *bed, l leg, addr netip.Addr, src, name, want string) (time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, curlTimeout)
	defer cancel()
	start := time.Now()
	tr, err := scenario.Curl(cctx, b.tp, l.mode, "-T", src, scenario.URL(b.srv, addr, name))
	d := time.Since(start)
	if err != nil {
		return d, curlFailure(fmt.Sprintf("%s STOR %s", l, name), err, tr)
	}
	got, err := testbed.SHA256File(filepath.Join(b.srv.Root, name))
	if err != nil {
		return d, fmt.Errorf("%s STOR %s: %w", l, name, err)
	}
	if got != want {
		return d, fmt.Errorf("%s STOR %s: server's sha256 %s, sent %s", l, name, got, want)
	}
	return d, nil
}
