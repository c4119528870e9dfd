package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftpgate/ftpgate/internal/scenario"
	"github.com/ftpgate/ftpgate/internal/testbed"
)

// The inspection rows' hooks: observeHook hashes every object after it passed (an exec hook,
// sha256sum, with the default timeout); icapHook has each object scanned by c-icap and clamd
// before it goes on, under the c-icap service alias icapService on icapPort.
const (
	observeHook        = "sum"
	observeHookTimeout = 60 * time.Second // inspect.DefaultHookTimeout
	icapHook           = "av"
	icapService        = "avscan"
	icapPort           = 1344
	icapHookTimeout    = 300 * time.Second
)

// inspectConfig is the proxied row's configuration proxied (its policy p last) with an
// inspect: policy that puts both directions in mode and names hook, defined at the top level
// by def (its lines, indented below the hook's name).
func inspectConfig(proxied, mode, hook string, def ...string) string {
	cfg := proxied + fmt.Sprintf("    inspect: {download: %s, upload: %s, hooks: [%s]}\n", mode, mode, hook)
	cfg += "hooks:\n  " + hook + ":\n"
	for _, d := range def {
		cfg += "    " + d + "\n"
	}
	return cfg
}

// observeConfig is the observe row's configuration: proxied plus every object handed to
// sha256sum once it passed.
func observeConfig(proxied string) string {
	return inspectConfig(proxied, "observe", observeHook, "exec: [sha256sum]")
}

// icapConfig is the ICAP row's configuration: proxied plus every object stored and scanned by
// the ICAP service at url before it goes on.
func icapConfig(proxied, url string) string {
	return inspectConfig(proxied, "inspect", icapHook, fmt.Sprintf("icap: %q", url),
		fmt.Sprintf("timeout: %.0fs", icapHookTimeout.Seconds()))
}

// icapURL is the scanner's service URL at addr.
func icapURL(addr netip.Addr) string {
	return fmt.Sprintf("icap://%s/%s", netip.AddrPortFrom(addr, icapPort), icapService)
}

// writeInspectConfigs writes the inspection rows' configurations next to proxied (the
// proxied row's) and asks ftpgate (`ftpgate check`) whether it accepts them; a row it does
// not accept gets its reason in observeNA or icapNA.
func (e *benchEnv) writeInspectConfigs(ctx context.Context, proxied string) error {
	dir := e.b.tp.Dir
	e.proxiedText = proxied
	e.observeConfig = filepath.Join(dir, "ftpgate-observe.yaml")
	e.icapConfig = filepath.Join(dir, "ftpgate-icap.yaml")
	var err error
	if e.observeNA, err = e.checkConfig(ctx, e.observeConfig, observeConfig(proxied)); err != nil {
		return err
	}
	e.icapNA, err = e.checkConfig(ctx, e.icapConfig, icapConfig(proxied, icapURL(e.b.tp.ServerV4)))
	return err
}

// checkNA is a row's cell when `ftpgate check` refused its configuration: the first line of
// what it printed, without the program's and the file's names.
func checkNA(out string, err error) string {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	line = strings.TrimPrefix(strings.TrimSpace(line), "ftpgate: ")
	line = strings.TrimPrefix(line, "configuration: ")
	if i := strings.Index(line, ".yaml:"); i >= 0 {
		if _, rest, ok := strings.Cut(line[i:], ": "); ok {
			line = rest
		}
	}
	if line == "" {
		line = err.Error()
	}
	return "n/a (ftpgate check: " + line + ")"
}

// markInspectNA marks the inspection rows ftpgate does not accept as n/a.
func (e *benchEnv) markInspectNA(res []*rowResult) {
	if e.observeNA != "" {
		res[rowObserve].na = e.observeNA
	}
	if e.icapNA != "" {
		res[rowICAP].na = e.icapNA
	}
}

// startScanner starts c-icap and clamd in the server namespace, on the server's IPv4 address,
// when the ICAP row is to be measured, points the row's configuration at it and proves that
// it scans objects of the bench's size (proveScanner). A scanner that does not start or
// does not scan makes the row n/a. The returned function stops the scanner (once; later
// calls do nothing).
func (e *benchEnv) startScanner(ctx context.Context, res []*rowResult) (stop func() error, err error) {
	stop = func() error { return nil }
	r := res[rowICAP]
	if r.skip || r.na != "" || len(e.stepsFor(rowICAP)) == 0 {
		return stop, nil
	}
	tp := e.b.tp
	start := time.Now()
	s, err := tp.StartScanner(ctx, tp.Server, tp.ServerV4, filepath.Join(tp.Dir, "scanner"))
	if err != nil {
		if ctx.Err() != nil {
			return stop, err
		}
		r.na = "n/a (ICAP scanner: " + firstLine(err) + ")"
		e.p.step("%s: scanner did not start: %v", r.spec.name, err)
		return stop, nil
	}
	e.scanner = s
	stop = func() error {
		if e.scanner == nil {
			return nil // stopped already
		}
		e.scanner = nil
		if err := s.Stop(); err != nil {
			return fmt.Errorf("stop the ICAP scanner: %w", err)
		}
		return nil
	}
	url := s.URL(icapService)
	if err := os.WriteFile(e.icapConfig, []byte(icapConfig(e.proxiedText, url)), 0o644); err != nil {
		return stop, errors.Join(fmt.Errorf("gateway configuration: %w", err), stop())
	}
	e.p.step("scanner: c-icap + clamd (EICAR-only database) in the server namespace, %s (%.1fs)", url, time.Since(start).Seconds())
	start = time.Now()
	if err := e.proveScanner(ctx); err != nil {
		if ctx.Err() != nil {
			return stop, errors.Join(err, stop())
		}
		r.na = "n/a (" + firstLine(err) + ")"
		e.p.step("%s: %v", r.spec.name, err)
		return stop, stop()
	}
	e.p.step("scanner: refuses EICAR at the end of a %s download through ftpgate (%.1fs)", mib(e.c.size), time.Since(start).Seconds())
	return stop, nil
}

// eicarFile is the name of the proof's object in the server root.
const eicarFile = "bench-eicar.bin"

// proveScanner makes sure the ICAP row measures scanning: an object of the bench's size
// with the EICAR test file at its end, downloaded through the ICAP row's gateway, must be
// refused by hook icapHook. A scanner that passes it (ClamAV skips what exceeds its size
// limits, and says clean) is an error.
func (e *benchEnv) proveScanner(ctx context.Context) (err error) {
	eicar := testbed.EICAR()
	if _, err := e.b.srv.MakeFile(eicarFile, e.c.size-int64(len(eicar))); err != nil {
		return err
	}
	path := filepath.Join(e.b.srv.Root, eicarFile)
	defer func() { err = errors.Join(err, os.Remove(path)) }()
	if err := appendFile(path, eicar); err != nil {
		return err
	}
	g, err := e.b.startGateway(ctx, e.c.bin, "-c", e.icapConfig)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, e.stopGateway(context.WithoutCancel(ctx), g)) }()
	_, cerr := benchCurl(ctx, e.b, "RETR "+eicarFile, "", e.c.size, icapHookTimeout, "-o", "/dev/null",
		scenario.URL(e.b.srv, e.b.tp.ServerV4, eicarFile))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	g.WaitRecord(func(r scenario.Record) bool { return r.Command == "RETR" && r.Arg == eicarFile })
	if err := recordRefusal(g.Logs("transfer"), eicarFile, icapHook); err != nil {
		return fmt.Errorf("the scanner passed EICAR at the end of a %s object (ClamAV's size limits?)\n%w; curl: %v", mib(e.c.size), err, cerr)
	}
	return nil
}

// appendFile appends b to the file at path, which must exist.
func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}

// recordRefusal checks that the last of recs (transfer records as logged) for a RETR of name
// carries a refusing verdict of hook that did not fail: the scanner found something.
func recordRefusal(recs []map[string]any, name, hook string) error {
	var rec map[string]any
	for _, m := range recs {
		if m["command"] == "RETR" && m["arg"] == name {
			rec = m
		}
	}
	if rec == nil {
		return fmt.Errorf("no transfer record for RETR %s", name)
	}
	vs, _ := rec["verdicts"].([]any)
	for _, v := range vs {
		if m, _ := v.(map[string]any); m != nil && m["hook"] == hook && m["allow"] == false && m["failed"] != true {
			return nil
		}
	}
	return fmt.Errorf("verdicts %v", rec["verdicts"])
}

// rowHook is the hook whose verdicts the transfer records of row id must carry, "" for the
// rows without inspection.
func rowHook(id rowID) string {
	switch id {
	case rowObserve:
		return observeHook
	case rowICAP:
		return icapHook
	}
	return ""
}

// hookTimeout is how much longer than a plain transfer one of row id may take: its hook's
// timeout (ftpgate's final reply waits for the verdict).
func hookTimeout(id rowID) time.Duration {
	switch id {
	case rowObserve:
		return observeHookTimeout
	case rowICAP:
		return icapHookTimeout
	}
	return 0
}

// checkVerdicts proves that the inspection row id's hook saw the run's RETR and STOR: their
// transfer records carry its verdict, an allow that did not fail.
func checkVerdicts(g *scenario.Gateway, id rowID) error {
	hook := rowHook(id)
	if hook == "" {
		return nil
	}
	var errs []error
	for _, t := range []struct{ command, name string }{{"RETR", benchFile}, {"STOR", uploadName}} {
		if err := recordVerdict(g.Logs("transfer"), t.command, t.name, hook); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recordVerdict checks that the last of recs (transfer records as logged) for command on name
// carries an allowing verdict of hook that did not fail.
func recordVerdict(recs []map[string]any, command, name, hook string) error {
	var rec map[string]any
	for _, m := range recs {
		if m["command"] == command && m["arg"] == name {
			rec = m
		}
	}
	if rec == nil {
		return fmt.Errorf("no transfer record for %s %s", command, name)
	}
	vs, _ := rec["verdicts"].([]any)
	for _, v := range vs {
		m, _ := v.(map[string]any)
		if m == nil || m["hook"] != hook {
			continue
		}
		if m["allow"] != true || m["failed"] == true {
			return fmt.Errorf("transfer record of %s %s: hook %s's verdict %v", command, name, hook, m)
		}
		return nil
	}
	return fmt.Errorf("transfer record of %s %s: no verdict of hook %s (verdicts %v)", command, name, hook, rec["verdicts"])
}

// withScannerLogs adds the end of the scanner's logs to err when row id is the ICAP row.
func (e *benchEnv) withScannerLogs(id rowID, err error) error {
	if err == nil || id != rowICAP || e.scanner == nil {
		return err
	}
	return fmt.Errorf("%w\nscanner logs:\n%s", err, tail(e.scanner.Logs(), 10))
}

// stampFiles makes the contents of the next RETR and STOR unique, and different from each
// other, by writing a stamp over the first bytes of the download file in the server root and
// of the upload file: both are made from one seed, and ClamAV remembers the digests of clean
// files it scanned, so without it every scan after the first would be a cache hit.
func (e *benchEnv) stampFiles() error {
	e.stamps++
	for _, f := range []struct{ path, dir string }{
		{filepath.Join(e.b.srv.Root, benchFile), "RETR"},
		{filepath.Join(e.b.tp.Dir, benchUpload), "STOR"},
	} {
		stamp := fmt.Sprintf("ftpgate bench %s %d %d\n", f.dir, e.stamps, time.Now().UnixNano())
		if err := writeAt(f.path, []byte(stamp)); err != nil {
			return fmt.Errorf("stamp %s: %w", f.path, err)
		}
	}
	return nil
}

// writeAt writes b over the beginning of the file at path, which must exist.
func writeAt(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	return errors.Join(err, f.Close())
}
