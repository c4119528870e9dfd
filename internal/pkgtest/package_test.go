package pkgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The package's files; each must be there after dpkg -i and gone after dpkg --purge.
const (
	binPath     = "/usr/sbin/ftpgate"
	unitPath    = "/usr/lib/systemd/system/ftpgate.service"
	defaultPath = "/etc/default/ftpgate"
	manPath     = "/usr/share/man/man8/ftpgate.8.gz"
)

var packaged = []string{
	binPath, unitPath, defaultPath, manPath,
	"/etc/ftpgate/ftpgate.yaml", "/etc/ftpgate/policy.star",
	"/usr/share/ftpgate/ftpgate.nft",
	"/usr/share/ftpgate/ha/ftpgate-ha-notify", "/usr/share/ftpgate/ha/keepalived.conf",
	"/usr/share/ftpgate/ha/conntrackd.conf", "/usr/share/ftpgate/ha/ha-input.nft",
	"/usr/lib/sysctl.d/90-ftpgate.conf",
	"/usr/lib/modules-load.d/ftpgate.conf",
	"/usr/lib/sysusers.d/ftpgate.conf",
	"/usr/share/bash-completion/completions/ftpgate",
	"/usr/share/doc/ftpgate/examples/ftpgate.yaml",
}

// conffiles are the files dpkg must keep as configuration.
var conffiles = []string{"/etc/ftpgate/ftpgate.yaml", "/etc/ftpgate/policy.star", defaultPath}

// Where deb-systemd-helper records that it enabled the unit.
const (
	wantsLink   = "/etc/systemd/system/multi-user.target.wants/ftpgate.service"
	helperState = "/var/lib/systemd/deb-systemd-helper-enabled/ftpgate.service.dsh-also"
)

// TestDebianPackage builds the package with `make deb`, installs it with dpkg, checks the
// installation, serves a transfer with the packaged daemon and unit command line, and
// purges it: then nothing may be left. The package is purged in a cleanup whatever happens.
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pkgtest: needs root to install the package with dpkg and to build the test bed")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("pkgtest: no dpkg here: not a Debian system")
	}
	if status := pkgStatus(); status != "" {
		t.Fatalf("pkgtest: package ftpgate is on this machine already (%s); the test would replace and purge it: dpkg --purge ftpgate first", status)
	}
	if out, err := exec.Command("getent", "passwd", "ftpgate").Output(); err == nil {
		t.Fatalf("pkgtest: a user ftpgate exists already (%s); the test's purge would delete it", strings.TrimSpace(string(out)))
	}
	deb := buildDeb(t)
	t.Cleanup(func() { purge(t) })

	out := mustRun(t, "dpkg", "-i", deb)
	if !strings.Contains(out, "enabled, but not started") {
		t.Errorf("dpkg -i did not print the postinst's note:\n%s", out)
	}
	checkInstalled(t)
	checkUnit(t)
	checkServes(t)
	checkReinstall(t, deb)

	mustRun(t, "dpkg", "-r", "ftpgate")
	checkRemoved(t)
	mustRun(t, "dpkg", "--purge", "ftpgate")
	checkGone(t)
}

// checkReinstall installs the package over itself, as an upgrade does: a changed conffile
// must stay as the administrator left it, and the service stay enabled.
func checkReinstall(t *testing.T, deb string) {
	t.Helper()
	const edit = "\nFTPGATE_ARGS=\"-log-format json\"\n"
	f, err := os.OpenFile(defaultPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(edit); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mustRun(t, "dpkg", "-i", "--force-confold", deb)
	if b, _ := os.ReadFile(defaultPath); !strings.HasSuffix(string(b), edit) {
		t.Errorf("reinstalling replaced the changed %s", defaultPath)
	}
	if _, err := os.Lstat(wantsLink); err != nil {
		t.Errorf("after reinstalling, the service is not enabled: %v", err)
	}
}

// checkRemoved checks dpkg -r: the program is gone, the configuration and the user stay.
func checkRemoved(t *testing.T) {
	t.Helper()
	if s := pkgStatus(); s != "deinstall ok config-files" {
		t.Errorf("after dpkg -r, status %q", s)
	}
	for _, f := range []string{binPath, unitPath, manPath} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("left after dpkg -r: %s", f)
		}
	}
	for _, f := range conffiles {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("dpkg -r removed a conffile: %v", err)
		}
	}
	if _, err := exec.Command("getent", "passwd", "ftpgate").Output(); err != nil {
		t.Errorf("dpkg -r removed the user ftpgate (only a purge may)")
	}
}

// buildDeb runs `make deb` into a temporary directory and returns the package's path.
func buildDeb(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	out := mustRun(t, "make", "-C", root, "deb", "DIST="+dist)
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb: want one .deb in %s, have %v:\n%s", dist, debs, out)
	}
	m := regexp.MustCompile(`^ftpgate_([^_]+)_([a-z0-9]+)\.deb$`).FindStringSubmatch(filepath.Base(debs[0]))
	if m == nil {
		t.Fatalf("make deb: package name %q is not ftpgate_<version>_<arch>.deb", filepath.Base(debs[0]))
	}
	mustRun(t, "dpkg", "--validate-version", m[1])
	if v := strings.TrimSpace(mustRun(t, "dpkg-deb", "-f", debs[0], "Version")); v != m[1] {
		t.Errorf("package version %q, file name says %q", v, m[1])
	}
	return debs[0]
}

// checkInstalled checks the package's status, files, conffiles, user, enablement and man page.
func checkInstalled(t *testing.T) {
	t.Helper()
	if s := pkgStatus(); s != "install ok installed" {
		t.Errorf("dpkg -s ftpgate: status %q", s)
	}
	for _, f := range packaged {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	listed := mustRun(t, "dpkg-query", "-W", "-f=${Conffiles}", "ftpgate")
	for _, f := range conffiles {
		if !strings.Contains(listed, " "+f+" ") {
			t.Errorf("%s is not a conffile; conffiles:\n%s", f, listed)
		}
	}
	for _, db := range []string{"passwd", "group"} {
		if _, err := exec.Command("getent", db, "ftpgate").Output(); err != nil {
			t.Errorf("getent %s ftpgate: %v", db, err)
		}
	}
	if _, err := exec.LookPath("deb-systemd-helper"); err == nil {
		if _, err := os.Lstat(wantsLink); err != nil {
			t.Errorf("the service is not enabled: %v", err)
		}
	}
	if _, err := exec.LookPath("man"); err == nil {
		if got := strings.TrimSpace(mustRun(t, "man", "-w", "ftpgate")); got != manPath {
			t.Errorf("man -w ftpgate: %q, want %s", got, manPath)
		}
	}
	comp := "source /usr/share/bash-completion/completions/ftpgate && complete -p ftpgate"
	if out := mustRun(t, "bash", "-c", comp); !strings.Contains(out, "-F _ftpgate ftpgate") {
		t.Errorf("the installed bash completion does not register: %q", out)
	}
	if v := mustRun(t, binPath, "version"); !strings.HasPrefix(v, "ftpgate ") || strings.Contains(v, "devel") {
		t.Errorf("%s version: %q, want the version from make", binPath, v)
	}
}

// checkUnit runs systemd-analyze verify and security on the installed unit.
func checkUnit(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("systemd-analyze", "verify", unitPath).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", unitPath).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for ftpgate.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security --offline=true: %v\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", score)
	if score > 2.0 {
		t.Errorf("systemd-analyze security: exposure %.1f, want at most 2.0", score)
	}
}

// checkGone checks that the purge left nothing: files, the user and group, the enablement.
func checkGone(t *testing.T) {
	t.Helper()
	if s := pkgStatus(); s != "" {
		t.Errorf("after dpkg --purge, dpkg-query says %q", s)
	}
	for _, f := range append(packaged, "/etc/ftpgate", "/usr/share/ftpgate", "/usr/share/doc/ftpgate", wantsLink, helperState) {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("left after dpkg --purge: %s", f)
		}
	}
	for _, db := range []string{"passwd", "group"} {
		if out, err := exec.Command("getent", db, "ftpgate").Output(); err == nil {
			t.Errorf("left after dpkg --purge: %s entry %s", db, strings.TrimSpace(string(out)))
		}
	}
}

// pkgStatus is dpkg's status of the package ftpgate ("" when dpkg knows none).
func pkgStatus() string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "ftpgate").Output()
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(out))
	if s == "unknown ok not-installed" {
		return ""
	}
	return s
}

// purge removes the package if dpkg knows it (the test's cleanup).
func purge(t *testing.T) {
	if pkgStatus() == "" {
		return
	}
	if out, err := exec.Command("dpkg", "--purge", "ftpgate").CombinedOutput(); err != nil {
		t.Errorf("cleanup: dpkg --purge ftpgate: %v\n%s", err, out)
	}
}

// mustRun runs a command and returns its output, or fails the test.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
