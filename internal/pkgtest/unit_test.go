package pkgtest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// unitValue returns the value of the last KEY= line of a unit file ("" when absent).
func unitValue(unit, key string) string {
	v := ""
	for _, line := range strings.Split(unit, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			v = rest
		}
	}
	return v
}

// envFile reads a systemd EnvironmentFile: KEY=VALUE lines, # comments, values optionally
// in double or single quotes (the subset /etc/default/ftpgate uses).
func envFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: not KEY=VALUE: %q", path, line)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env, sc.Err()
}

// execArgs expands an ExecStart= command line as systemd does for the forms the unit uses:
// a word "$VAR" becomes the variable's whitespace-separated words (none when empty or
// unset), "${VAR}" one word; other words are taken as they are.
func execArgs(line string, env map[string]string) []string {
	var out []string
	for _, w := range strings.Fields(line) {
		switch {
		case strings.HasPrefix(w, "${") && strings.HasSuffix(w, "}"):
			out = append(out, env[w[2:len(w)-1]])
		case strings.HasPrefix(w, "$"):
			out = append(out, strings.Fields(env[w[1:]])...)
		default:
			out = append(out, w)
		}
	}
	return out
}

func TestExecArgs(t *testing.T) {
	env := map[string]string{"A": "-x 1  -y", "B": "two words"}
	got := strings.Join(execArgs("/usr/sbin/ftpgate run $A ${B} $NONE", env), "|")
	if want := "/usr/sbin/ftpgate|run|-x|1|-y|two words"; got != want {
		t.Errorf("execArgs: %q, want %q", got, want)
	}
	unit := "[Service]\nExecStart=/bin/a $X\n# ExecStart=/bin/b\nExecReload=/bin/c\n"
	if got := unitValue(unit, "ExecStart"); got != "/bin/a $X" {
		t.Errorf("unitValue: %q", got)
	}
	path := t.TempDir() + "/default"
	if err := os.WriteFile(path, []byte("# c\n#FTPGATE_ARGS=\"-no\"\nFTPGATE_ARGS=\"-log-format json\"\nB='q'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := envFile(path)
	if err != nil || env["FTPGATE_ARGS"] != "-log-format json" || env["B"] != "q" || len(env) != 2 {
		t.Errorf("envFile: %v %v", env, err)
	}
}
