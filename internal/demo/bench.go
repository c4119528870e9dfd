package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// benchTimeout bounds the whole benchmark.
const benchTimeout = 150 * time.Second

// benchFile is the file the benchmark downloads from the server root.
const benchFile = "bench.bin"

// gib is a GiB in bytes.
const gib = 1 << 30

// runBench builds the topology, measures, removes everything and prints the result line.
// The ratio is reported, never judged: only a broken run is an error.
func runBench(parent context.Context, p *printer, c config) error {
	ctx, cancel := context.WithTimeout(parent, benchTimeout)
	defer cancel()
	p.line("ftpgate bench: RETR %s with curl (PASV, to /dev/null), through ftpgate and through plain forwarding, median of %d",
		mib(c.size), c.runs)
	var gw, fw float64
	b, err := newBed(ctx, p, false, c.keep)
	if err == nil {
		gw, fw, err = bench(ctx, p, b, c)
		if err != nil && parent.Err() == nil {
			report(p, err)
		}
		if cerr := b.close(p); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	} else if parent.Err() == nil {
		report(p, err)
	}
	if parent.Err() != nil {
		return parent.Err() // interrupted: main says so
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v: %w", benchTimeout, err)
		}
		summary, _ := summarize(err)
		p.line("bench: FAIL — %s (%.1fs)", summary, p.elapsed().Seconds())
		return err
	}
	p.line("bench: RETR %s  ftpgate %.2f GiB/s  forwarding %.2f GiB/s  ratio %.2f (target >= 0.90)",
		mib(c.size), gw/gib, fw/gib, gw/fw)
	return nil
}

// bench creates the file and alternates runs through ftpgate (gateway running, forwarding
// off) and through plain kernel forwarding (gateway stopped, forward policy accept), so that
// both see the same machine load. It returns the median speeds in bytes per second.
func bench(ctx context.Context, p *printer, b *bed, c config) (gw, fw float64, err error) {
	start := time.Now()
	if _, err := b.srv.MakeFile(benchFile, c.size); err != nil {
		return 0, 0, fmt.Errorf("make %s: %w", benchFile, err)
	}
	p.step("server: %s of %s created in the FTP root (%.1fs)", benchFile, mib(c.size), time.Since(start).Seconds())
	var gws, fws []float64
	for i := 1; i <= c.runs; i++ {
		g, err := viaGateway(ctx, b, c)
		if err != nil {
			return 0, 0, fmt.Errorf("run %d through ftpgate: %w", i, err)
		}
		f, err := viaForwarding(ctx, b, c)
		if err != nil {
			return 0, 0, fmt.Errorf("run %d through forwarding: %w", i, err)
		}
		p.step("run %d/%d: ftpgate %.2f GiB/s, forwarding %.2f GiB/s", i, c.runs, g/gib, f/gib)
		gws, fws = append(gws, g), append(fws, f)
	}
	left, err := scenario.Leftovers(ctx, b.tp, table)
	if err != nil {
		return 0, 0, err
	}
	if len(left) > 0 {
		return 0, 0, fmt.Errorf("ftpgate stopped but left behind: %s", strings.Join(left, "; "))
	}
	return median(gws), median(fws), nil
}

// viaGateway starts ftpgate, downloads the file through it, checks the transfer record and
// stops ftpgate. It returns curl's download speed in bytes per second.
func viaGateway(ctx context.Context, b *bed, c config) (speed float64, err error) {
	g, err := b.startGateway(ctx, c.bin)
	if err != nil {
		return 0, err
	}
	defer func() {
		if serr := g.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop ftpgate: %w", serr)
		}
	}()
	speed, err = retr(ctx, b, c.size)
	if err != nil {
		return 0, fmt.Errorf("%w\nftpgate log:\n%s", err, tail(g.LogText(), 10))
	}
	r, ok := g.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" && r.Arg == benchFile })
	if !ok {
		return 0, fmt.Errorf("no transfer record for RETR %s", benchFile)
	}
	if r.BytesToClient != c.size || r.Reply != 226 {
		return 0, fmt.Errorf("transfer record: %d bytes, reply %d; want %d bytes, 226", r.BytesToClient, r.Reply, c.size)
	}
	return speed, nil
}

// viaForwarding opens gw's forward chain, downloads the file through plain forwarding and
// closes the chain again. It returns curl's download speed in bytes per second.
func viaForwarding(ctx context.Context, b *bed, c config) (speed float64, err error) {
	if err := b.tp.SetForward(ctx, true); err != nil {
		return 0, err
	}
	defer func() {
		if ferr := b.tp.SetForward(context.WithoutCancel(ctx), false); ferr != nil && err == nil {
			err = ferr
		}
	}()
	return retr(ctx, b, c.size)
}

// retr downloads the benchmark file over IPv4 in PASV mode to /dev/null and returns curl's
// speed_download (bytes over the whole transfer time, login included) after checking that
// all size bytes arrived.
func retr(ctx context.Context, b *bed, size int64) (float64, error) {
	cctx, cancel := context.WithTimeout(ctx, curlTimeout*2)
	defer cancel()
	out, tr, err := scenario.CurlOutput(cctx, b.tp, scenario.PASV, "-o", "/dev/null",
		"-w", "%{size_download} %{speed_download}", scenario.URL(b.srv, b.tp.ServerV4, benchFile))
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, tail(tr, 10))
	}
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
		return 0, fmt.Errorf("curl downloaded %d bytes, want %d", n, size)
	}
	return speed, nil
}

// median returns the median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
