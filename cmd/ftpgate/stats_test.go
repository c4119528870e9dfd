package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogStats: the stats line counts what it is given and reads this process's open files
// and resident memory.
func TestLogStats(t *testing.T) {
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		logStats(ctx, 10*time.Millisecond, statsSource{sessions: func() int { return 3 }, expectations: func() int { return 2 }},
			slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	for i := 0; i < 200 && !strings.Contains(logs.String(), "msg=stats"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	line := logs.String()
	for _, want := range []string{"msg=stats", "sessions=3", "expectations=2", "goroutines="} {
		if !strings.Contains(line, want) {
			t.Errorf("stats line lacks %q: %s", want, line)
		}
	}
	if openFiles() <= 0 || residentBytes() <= 0 {
		t.Errorf("open files %d, resident bytes %d: want both above 0", openFiles(), residentBytes())
	}
}
