package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
)

// The small-file mirror: lftp mirrors mirrorDir, n files of mirrorFileSize bytes in the FTP
// user's root, with mirrorParallel transfers at a time into a fresh directory of the client
// side. lftp opens mirrorParallel+1 control connections, far below vsftpd's 50 per address
// and ftpgate's 100 per client.
const (
	mirrorDir      = "mirror-src"
	mirrorPrefix   = "small-"
	mirrorFileSize = 1024
	mirrorParallel = 4
	mirrorLocal    = "mirror-dst"      // in the topology directory, removed after each mirror
	mirrorDebug    = "lftp-mirror.log" // lftp's debug output of the last mirror
	recordsWait    = 5 * time.Second   // for ftpgate's last transfer records after lftp ends
	mirrorFloor    = 20                // files per second no path falls below (for timeouts)
	mirrorSlack    = 60 * time.Second  // login, listing and start-up of one mirror
	lftpDebugLevel = "5"               // lftp logs the commands it sends ("---> ") from 5 on
)

// mirrorTimeout bounds one mirror of n files: far above what any path here needs, so that
// only a hung mirror hits it.
func mirrorTimeout(n int) time.Duration {
	return mirrorSlack + time.Duration(n/mirrorFloor)*time.Second
}

// makeMirrorFiles creates mirrorDir with n files of mirrorFileSize bytes in the FTP root,
// written directly (each file's bytes start with its number, so no two are alike).
func makeMirrorFiles(b *bed, n int) error {
	dir := filepath.Join(b.srv.Root, mirrorDir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("mirror files: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("mirror files: %w", err)
	}
	buf := make([]byte, mirrorFileSize)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	for i := range n {
		name := mirrorName(i)
		copy(buf, name)
		if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
			return fmt.Errorf("mirror files: %w", err)
		}
	}
	return nil
}

// mirrorName is the name of the i-th small file.
func mirrorName(i int) string { return fmt.Sprintf("%s%06d", mirrorPrefix, i) }

// mirror runs lftp's mirror of the small files for row id (gateway g, nil without) and
// returns the files per second: n over lftp's wall time, login and listing included. It
// checks that every file arrived with its size, that lftp used EPSV for every transfer (and
// TLS on the FTPS rows), and that the transfers took the row's path; through ftpgate, paths
// says which data paths its records name.
func (e *benchEnv) mirror(ctx context.Context, id rowID, g *scenario.Gateway) (rate float64, paths string, err error) {
	n, tp := e.c.mirrorFiles, e.b.tp
	local, debug := filepath.Join(tp.Dir, mirrorLocal), filepath.Join(tp.Dir, mirrorDebug)
	if err := errors.Join(os.RemoveAll(local), os.RemoveAll(debug)); err != nil {
		return 0, "", fmt.Errorf("mirror: %w", err)
	}
	defer os.RemoveAll(local)
	related, err := e.relatedBefore(ctx, id)
	if err != nil {
		return 0, "", err
	}
	script := lftpMirrorSettings(e.caFile(id)) + fmt.Sprintf("debug -t -o %s %s; mirror --parallel=%d %s %s",
		debug, lftpDebugLevel, mirrorParallel, mirrorDir, local)
	cctx, cancel := context.WithTimeout(ctx, mirrorTimeout(n))
	defer cancel()
	start := time.Now()
	_, stderr, err := tp.Exec(cctx, tp.Client, "lftp", "-u", e.b.srv.User+","+e.b.srv.Pass, "-e", script+"; bye", tp.ServerV4.String())
	elapsed := time.Since(start)
	if err != nil {
		note := "lftp failed"
		if cctx.Err() != nil {
			note = "timed out"
		}
		return 0, "", &cellError{note: note, err: fmt.Errorf("lftp mirror failed after %.1fs\n%s\n%w", elapsed.Seconds(), lftpErrors(stderr, debug), err)}
	}
	if err := checkMirrored(local, n); err != nil {
		return 0, "", err
	}
	if err := checkLftpDebug(debug, n, e.caFile(id) != ""); err != nil {
		return 0, "", err
	}
	if paths, err = e.checkMirrorPath(ctx, id, g, related, n); err != nil {
		return 0, "", err
	}
	return float64(n) / elapsed.Seconds(), paths, nil
}

// lftpMirrorSettings are lftp's settings for the mirror: EPSV, no retries (a failure fails
// the mirror), a debug log without size limit, and over FTPS (when caFile is set) TLS on control and data connections with
// the server verified against caFile, as scenario.LftpTLSVerify sets them.
func lftpMirrorSettings(caFile string) string {
	s := []string{"set net:max-retries 1", "set net:timeout 20", "set cmd:fail-exit yes",
		"set ftp:passive-mode on", "set ftp:prefer-epsv yes",
		// The debug log must hold every command (1 MiB by default is some 2,000 files), and no
		// transfer log goes to root's home.
		"set log:max-size 1G", "set log:enabled/xfer no"}
	if caFile == "" {
		s = append(s, "set ftp:ssl-allow no")
	} else {
		s = append(s, "set ftp:ssl-allow yes", "set ftp:ssl-force yes", "set ftp:ssl-protect-data yes",
			"set ftp:ssl-protect-list yes", "set ssl:verify-certificate yes", "set ssl:check-hostname yes",
			"set ssl:ca-file "+caFile)
	}
	return strings.Join(s, "; ") + "; "
}

// lftpErrors is lftp's error output and the end of its debug log, for a failed mirror.
func lftpErrors(stderr, debugFile string) string {
	out := "lftp: " + tail(strings.TrimSpace(stderr), 5)
	if b, err := os.ReadFile(debugFile); err == nil {
		out += "\nlftp debug log:\n" + tail(string(b), 10)
	}
	return out
}

// checkMirrored checks that dir holds the n small files, each of mirrorFileSize bytes.
func checkMirrored(dir string, n int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &cellError{note: "no files", err: fmt.Errorf("mirror: %w", err)}
	}
	good := 0
	for _, ent := range entries {
		if !strings.HasPrefix(ent.Name(), mirrorPrefix) {
			continue
		}
		if fi, err := ent.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() == mirrorFileSize {
			good++
		}
	}
	if good != n || len(entries) != n {
		return &cellError{note: fmt.Sprintf("%d of %d files", good, n),
			err: fmt.Errorf("mirror: %d entries in %s, %d of them small files of %d bytes; want %d", len(entries), dir, good, mirrorFileSize, n)}
	}
	return nil
}

// checkLftpDebug reads lftp's debug log: every transfer (n files and the listing) must have
// used EPSV, never PASV, and on FTPS the data must have been protected (PROT P).
func checkLftpDebug(file string, n int, ftps bool) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("mirror: lftp debug log: %w", err)
	}
	log := string(b)
	epsv, pasv := strings.Count(log, "---> EPSV"), strings.Count(log, "---> PASV")
	if epsv < n+1 || pasv > 0 {
		return &cellError{note: "not EPSV", err: fmt.Errorf("mirror: lftp sent EPSV %d times and PASV %d times; want EPSV for %d files and the listing", epsv, pasv, n)}
	}
	if ftps && !strings.Contains(log, "---> PROT P") {
		return &cellError{note: "no PROT P", err: errors.New("mirror: lftp did not protect the data connections (no PROT P)")}
	}
	return nil
}

// relatedBefore returns the conntrack helper's related counter before a mirror (0 on the
// other rows).
func (e *benchEnv) relatedBefore(ctx context.Context, id rowID) (int64, error) {
	if id != rowHelper {
		return 0, nil
	}
	return helperRelated(ctx, e.b.tp)
}

// checkMirrorPath proves that the mirror took the row's path: through ftpgate, a transfer
// record with reply 226 and mirrorFileSize bytes for every file (paths counts the records
// per data path); under the conntrack helper, its related rule counting at least one more
// packet per file than before (related0).
func (e *benchEnv) checkMirrorPath(ctx context.Context, id rowID, g *scenario.Gateway, related0 int64, n int) (paths string, err error) {
	if g != nil {
		return checkMirrorRecords(g, n)
	}
	if id != rowHelper {
		return "", nil
	}
	related, err := helperRelated(ctx, e.b.tp)
	if err != nil {
		return "", err
	}
	if related-related0 < int64(n) {
		return "", &cellError{note: "helper bypassed", err: fmt.Errorf("mirror: the conntrack helper's related rule accepted %d packets for %d files", related-related0, n)}
	}
	return "", nil
}

// checkMirrorRecords waits up to recordsWait for ftpgate's transfer records of the n small
// files, each a RETR that ended with 226 and moved mirrorFileSize bytes toward the client
// (within 1% where the kernel path estimated the bytes). It returns the records per data
// path, e.g. "kernel 9990, proxy 10".
func checkMirrorRecords(g *scenario.Gateway, n int) (string, error) {
	deadline := time.Now().Add(recordsWait)
	for {
		ok, bad, paths := countMirrorRecords(g.Records())
		if ok == n && bad == 0 {
			return paths, nil
		}
		if time.Now().After(deadline) || bad > 0 {
			return "", &cellError{note: fmt.Sprintf("%d of %d records", ok, n),
				err: fmt.Errorf("mirror: ftpgate logged %d good and %d bad transfer records of the small files (%s); want %d good", ok, bad, paths, n)}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countMirrorRecords counts the RETR records of small files that show a complete transfer
// (ok) and those that do not (bad), and sums them up per data path.
func countMirrorRecords(records []scenario.Record) (ok, bad int, paths string) {
	const slack = mirrorFileSize / 100
	perPath := map[string]int{}
	for _, r := range records {
		if r.Command != "RETR" || !strings.HasPrefix(path.Base(r.Arg), mirrorPrefix) {
			continue
		}
		perPath[r.Path]++
		off := r.BytesToClient - mirrorFileSize
		if r.BytesEstimated && off <= slack && off >= -slack {
			off = 0
		}
		if r.Reply == 226 && off == 0 {
			ok++
		} else {
			bad++
		}
	}
	var s []string
	for _, p := range slices.Sorted(maps.Keys(perPath)) {
		s = append(s, fmt.Sprintf("%s %d", cmp.Or(p, "?"), perPath[p]))
	}
	return ok, bad, strings.Join(s, ", ")
}
