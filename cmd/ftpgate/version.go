package main

import (
	"runtime/debug"
	"strings"
)

// versionString is ftpgate's version: the one set at build time with -ldflags
// "-X main.version=...", else what the Go toolchain recorded in the binary (the module's
// version for `go install ...@v1.2.3`, the VCS revision for a build in a checkout), else
// "unknown".
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	return describeVersion(version, bi, ok)
}

// describeVersion is versionString with its inputs as arguments, for the tests.
func describeVersion(ldflags string, bi *debug.BuildInfo, ok bool) string {
	if ldflags != "" {
		return ldflags
	}
	if !ok || bi == nil {
		return "unknown"
	}
	rev := vcsRevision(bi)
	v := bi.Main.Version
	switch {
	case v == "" || v == "(devel)":
		if rev != "" {
			return "devel-" + rev
		}
		return "devel"
	case rev == "" || strings.Contains(v, strings.TrimSuffix(rev, "-dirty")):
		// A pseudo-version (v0.0.0-20261126091838-c98661160aeb) names the revision already.
		return v
	}
	return v + " (" + rev + ")"
}

// vcsRevision is the VCS revision the binary was built from, shortened to 12 characters,
// with "-dirty" when the work tree had changes; "" when it was not recorded.
func vcsRevision(bi *debug.BuildInfo) string {
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	return rev
}
