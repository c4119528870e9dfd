package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// printer writes the program's progress for a human: one line per step, prefixed with the
// time since the start, and indented detail lines below it.
type printer struct {
	w     io.Writer
	start time.Time
}

// newPrinter returns a printer whose clock starts now.
func newPrinter(w io.Writer) *printer { return &printer{w: w, start: time.Now()} }

// step prints a step line.
func (p *printer) step(format string, a ...any) {
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, a...))
}

// detail prints an indented line below a step.
func (p *printer) detail(format string, a ...any) {
	fmt.Fprintf(p.w, "         %s\n", fmt.Sprintf(format, a...))
}

// block prints multi-line text indented below a step, without its empty lines.
func (p *printer) block(text string) {
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) != "" {
			p.detail("%s", strings.ReplaceAll(strings.TrimRight(line, " \t\r"), "\t", "  "))
		}
	}
}

// line prints a line as is.
func (p *printer) line(format string, a ...any) {
	fmt.Fprintf(p.w, format+"\n", a...)
}

// elapsed is the time since the start.
func (p *printer) elapsed() time.Duration { return time.Since(p.start) }

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// mib formats a byte count in MiB.
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
