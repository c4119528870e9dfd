// Package clidoc renders a command-line program's documentation, a manual page in roff and a
// bash completion script, from the flag sets of its subcommands, so that neither repeats the
// flags by hand: a flag added to a command appears in both the next time they are generated.
package clidoc

import (
	"flag"
	"sort"
)

// Program describes a program with subcommands.
type Program struct {
	// Name is the program's name ("ftpgate").
	Name string
	// Section is the manual section ("8").
	Section string
	// Version goes in the page's footer.
	Version string
	// Summary is the one-line description after the name in NAME.
	Summary string
	// Description is the DESCRIPTION section, one string per paragraph.
	Description []string
	// Commands are the subcommands in the order they are documented.
	Commands []Command
	// Sections follow COMMANDS (EXIT STATUS, FILES, SEE ALSO, …).
	Sections []Section
}

// Command is one subcommand.
type Command struct {
	// Name is the command's words after the program name ("run", "policy test").
	Name string
	// Args is the synopsis after the flags ("FILE"), "" for none.
	Args string
	// Summary says what the command does, in one sentence.
	Summary string
	// Flags are the command's flags; nil when it has none.
	Flags *flag.FlagSet
	// PathFlags name the flags whose value is a file path (completed as files).
	PathFlags []string
	// PathArgs says the positional arguments are file paths.
	PathArgs bool
}

// Section is a titled section of plain paragraphs.
type Section struct {
	Title      string
	Paragraphs []string
}

// flags returns c's flags sorted by name (empty when it has none).
func (c Command) flags() []*flag.Flag {
	var out []*flag.Flag
	if c.Flags == nil {
		return nil
	}
	c.Flags.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// isBool reports whether f is a boolean flag (given without a value).
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
