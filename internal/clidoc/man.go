package clidoc

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"
)

// WriteMan writes p as a manual page in roff (man macros).
func WriteMan(w io.Writer, p *Program) error {
	bw := bufio.NewWriter(w)
	up := strings.ToUpper(p.Name)
	fmt.Fprintf(bw, ".TH %s %s \"\" \"%s %s\" \"System Administration\"\n", up, p.Section, p.Name, escape(p.Version))
	fmt.Fprintf(bw, ".SH NAME\n%s \\- %s\n", p.Name, escape(p.Summary))
	fmt.Fprintf(bw, ".SH SYNOPSIS\n")
	for _, c := range p.Commands {
		fmt.Fprintf(bw, ".B %s %s\n", p.Name, c.Name)
		if c.Flags != nil {
			fmt.Fprintf(bw, ".RI [ flags ]\n")
		}
		if c.Args != "" {
			fmt.Fprintf(bw, ".I %s\n", escape(c.Args))
		}
		fmt.Fprintf(bw, ".br\n")
	}
	writeSection(bw, Section{Title: "DESCRIPTION", Paragraphs: p.Description})
	fmt.Fprintf(bw, ".SH COMMANDS\n")
	for _, c := range p.Commands {
		writeCommand(bw, p.Name, c)
	}
	for _, s := range p.Sections {
		writeSection(bw, s)
	}
	return bw.Flush()
}

// writeCommand writes one command's subsection: its summary and its flags.
func writeCommand(w io.Writer, prog string, c Command) {
	fmt.Fprintf(w, ".SS \"%s %s\"\n%s\n", prog, c.Name, escape(c.Summary))
	for _, f := range c.flags() {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, ".TP\n\\fB\\-%s\\fR", escape(f.Name))
		if !isBool(f) {
			fmt.Fprintf(w, " \\fI%s\\fR", escape(name))
		}
		fmt.Fprintf(w, "\n%s", escape(usage))
		if d := f.DefValue; !zeroDefault(d) {
			fmt.Fprintf(w, " (default: %s)", escape(d))
		}
		fmt.Fprintln(w)
	}
}

// writeSection writes a section of paragraphs; a paragraph whose lines start with two
// spaces is an example, set without filling.
func writeSection(w io.Writer, s Section) {
	fmt.Fprintf(w, ".SH %s\n", escape(s.Title))
	for i, para := range s.Paragraphs {
		if i > 0 {
			fmt.Fprintln(w, ".PP")
		}
		if strings.HasPrefix(para, "  ") {
			fmt.Fprintf(w, ".nf\n.RS 4\n%s\n.RE\n.fi\n", escapeLines(para))
			continue
		}
		fmt.Fprintln(w, escapeLines(para))
	}
}

// zeroDefault reports whether a flag's default says nothing worth printing.
func zeroDefault(d string) bool {
	switch d {
	case "", "0", "false", "0s":
		return true
	}
	return false
}

// escape makes s safe inside a roff text line: backslashes and hyphens are escaped, and a
// line cannot start a request.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// escapeLines escapes every line of s.
func escapeLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = escape(strings.TrimPrefix(l, "  "))
	}
	return strings.Join(lines, "\n")
}
