package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestJournalPriorities: on the journal's stream each line starts with its syslog priority,
// in text and JSON; on any other stream it does not.
func TestJournalPriorities(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
		log, err := newLogger(f, "debug", format)
		if err != nil {
			t.Fatal(err)
		}
		log.With("session", 1).Error("broken")
		log.Warn("odd")
		log.Info("fine")
		log.Debug("detail")
		f.Close()
		b, _ := os.ReadFile(f.Name())
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i, want := range []string{"<3>", "<4>", "<6>", "<7>"} {
			if len(lines) != 4 || !strings.HasPrefix(lines[i], want) || strings.Count(lines[i], "<") != 1 {
				t.Fatalf("%s: lines %q, want line %d to start with %s", format, lines, i, want)
			}
		}
		if format == "json" && !strings.HasPrefix(lines[0], `<3>{"time"`) {
			t.Errorf("json line %q", lines[0])
		}
	}
	t.Setenv("JOURNAL_STREAM", "1:2")
	f, _ := os.Create(filepath.Join(t.TempDir(), "other"))
	log, _ := newLogger(f, "info", "text")
	log.Error("plain")
	f.Close()
	if b, _ := os.ReadFile(f.Name()); strings.HasPrefix(string(b), "<") {
		t.Errorf("a stream that is not the journal got a prefix: %q", b)
	}
}
