package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// Files of the benchmark: benchFile is downloaded from the server root, benchUpload (in the
// topology directory) is uploaded as uploadName.
const (
	benchFile   = "bench.bin"
	benchUpload = "bench-upload.bin"
	uploadName  = "bench-up.bin"
)

// gib is a GiB in bytes.
const gib = 1 << 30

// transferTimeout bounds one curl transfer of size bytes: a minute plus 10 MiB/s, far
// slower than any path here, so that only a hung transfer hits it.
func transferTimeout(size int64) time.Duration {
	return time.Minute + time.Duration(size/(10<<20))*time.Second
}

// makeBenchFiles creates the download file in the server root and the upload file on the
// client side (same file system, different directories).
func makeBenchFiles(b *bed, size int64) error {
	if _, err := b.srv.MakeFile(benchFile, size); err != nil {
		return fmt.Errorf("make %s: %w", benchFile, err)
	}
	if _, err := testbed.MakeFile(filepath.Join(b.tp.Dir, benchUpload), size); err != nil {
		return fmt.Errorf("make %s: %w", benchUpload, err)
	}
	return nil
}

// benchCurl runs curl in the client namespace in EPSV mode with args, over explicit FTPS
// (--ssl-reqd, so AUTH TLS and PROT P, verifying the server against caFile) when caFile is
// set, for at most transferTimeout(size) plus slack (a hook's time to decide). It returns
// curl's standard output (the -w line).
func benchCurl(ctx context.Context, b *bed, what, caFile string, size int64, slack time.Duration, args ...string) (string, error) {
	timeout := transferTimeout(size) + slack
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	all := []string{"--max-time", strconv.Itoa(int(timeout.Seconds()))} // overrides scenario's 120 s
	if caFile != "" {
		all = append(all, "--ssl-reqd", "--cacert", caFile)
	}
	out, tr, err := scenario.CurlOutput(cctx, b.tp, scenario.EPSV, append(all, args...)...)
	if err != nil {
		return "", curlFailure(what, err, tr)
	}
	if caFile != "" && (!strings.Contains(tr, "SSL connection using") || !strings.Contains(tr, "> PROT P")) {
		return "", &failure{summary: what + ": curl did not protect control and data with TLS", detail: tail(tr, 15)}
	}
	return out, nil
}

// retr downloads the benchmark file to /dev/null and returns curl's speed_download in bytes
// per second (login included) and the machine's busy CPU seconds per GiB meanwhile; slack
// is as for benchCurl.
func retr(ctx context.Context, b *bed, caFile string, size int64, slack time.Duration) (speed, cpuPerGiB float64, err error) {
	before, err := readCPU()
	if err != nil {
		return 0, 0, err
	}
	out, err := benchCurl(ctx, b, "RETR", caFile, size, slack, "-o", "/dev/null",
		"-w", "%{size_download} %{speed_download}", scenario.URL(b.srv, b.tp.ServerV4, benchFile))
	if err != nil {
		return 0, 0, err
	}
	after, err := readCPU()
	if err != nil {
		return 0, 0, err
	}
	speed, err = parseCurlSpeed(out, size)
	if err != nil {
		return 0, 0, fmt.Errorf("RETR: %w", err)
	}
	return speed, busySeconds(before, after) / (float64(size) / gib), nil
}

// stor uploads the upload file and returns curl's speed_upload in bytes per second; slack is
// as for benchCurl.
func stor(ctx context.Context, b *bed, caFile string, size int64, slack time.Duration) (float64, error) {
	local := filepath.Join(b.tp.Dir, benchUpload)
	if st, err := os.Stat(local); err != nil || st.Size() != size {
		return 0, fmt.Errorf("STOR: upload file %s missing or of the wrong size", local)
	}
	out, err := benchCurl(ctx, b, "STOR", caFile, size, slack, "-T", local,
		"-w", "%{size_upload} %{speed_upload}", scenario.URL(b.srv, b.tp.ServerV4, uploadName))
	if err != nil {
		return 0, err
	}
	speed, err := parseCurlSpeed(out, size)
	if err != nil {
		return 0, fmt.Errorf("STOR: %w", err)
	}
	return speed, nil
}

// parseCurlSpeed reads curl's "-w '%{size_…} %{speed_…}'" output and checks the size.
func parseCurlSpeed(out string, size int64) (float64, error) {
	f := strings.Fields(out)
	if len(f) != 2 {
		return 0, fmt.Errorf("curl -w printed %q, want size and speed", out)
	}
	n, err1 := strconv.ParseInt(f[0], 10, 64)
	speed, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || speed <= 0 {
		return 0, fmt.Errorf("curl -w printed %q, want size and speed", out)
	}
	if n != size {
		return 0, fmt.Errorf("curl moved %d bytes, want %d", n, size)
	}
	return speed, nil
}

// checkTransferRecord waits for the gateway's transfer record of command on name and checks
// that it moved size bytes (toward the client for RETR, toward the server for STOR; within
// 1% when the kernel path estimated them) and ended in 226: proof that the transfer really
// went through ftpgate's data channel.
func checkTransferRecord(g *scenario.Gateway, command, name string, size int64) error {
	r, ok := g.WaitRecord(func(r scenario.Record) bool { return r.Command == command && r.Arg == name })
	if !ok {
		return fmt.Errorf("no transfer record for %s %s", command, name)
	}
	moved := r.BytesToClient
	if command == "STOR" {
		moved = r.BytesToServer
	}
	off := moved - size
	if r.BytesEstimated && off < size/100 && off > -size/100 {
		off = 0
	}
	if off != 0 || r.Reply != 226 {
		return fmt.Errorf("transfer record of %s: %d bytes, reply %d; want %d bytes, 226", command, moved, r.Reply, size)
	}
	return nil
}
