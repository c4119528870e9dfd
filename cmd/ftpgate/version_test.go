package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeVersion(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "67fe080a1b2c3d4e5f60718293a4b5c6d7e8f901"
	for _, tc := range []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"ldflags win", "0.3.0-2-gabc", &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}}, true, "0.3.0-2-gabc"},
		{"go install @version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, true, "v0.3.0"},
		{"tag and vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}, Settings: vcs(rev, "false")}, true, "v0.3.0 (67fe080a1b2c)"},
		{"pseudo-version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1-0.20261126091100-67fe080a1b2c"}, Settings: vcs(rev, "false")}, true,
			"v0.3.1-0.20261126091100-67fe080a1b2c"},
		{"dirty pseudo-version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1-0.20261126091100-67fe080a1b2c+dirty"}, Settings: vcs(rev, "true")}, true,
			"v0.3.1-0.20261126091100-67fe080a1b2c+dirty"},
		{"checkout build", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, true, "devel-67fe080a1b2c"},
		{"dirty checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, true, "devel-67fe080a1b2c-dirty"},
		{"no vcs", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "devel"},
		{"no build info", "", nil, false, "unknown"},
	} {
		if got := describeVersion(tc.ldflags, tc.bi, tc.ok); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	old := version
	defer func() { version = old }()
	version = "1.2.3"
	for _, arg := range []string{"version", "--version", "-v"} {
		code, out, _ := runCmd(arg)
		if code != exitOK || out != "ftpgate 1.2.3\n" {
			t.Errorf("%s: %d %q", arg, code, out)
		}
	}
	version = ""
	// A test binary has build information (its module is "(devel)" at least).
	if code, out, _ := runCmd("version"); code != exitOK || !strings.HasPrefix(out, "ftpgate devel") {
		t.Errorf("version without ldflags: %d %q", code, out)
	}
}
