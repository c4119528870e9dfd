package script

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ftpgate/ftpgate/policy"
)

// DefaultMaxSteps is the step limit per call when Options.MaxSteps is zero.
const DefaultMaxSteps = 100000

// Options tune a Program.
type Options struct {
	// MaxSteps limits the Starlark execution steps of each call, and of the script's top
	// level when it is loaded; zero means DefaultMaxSteps.
	MaxSteps uint64
	// Log receives what scripts print(), with the file and callback name; nil discards it.
	Log *slog.Logger
}

// Program is a loaded, sandboxed Starlark script whose top-level functions are callbacks.
// Its globals are frozen, so a Program is safe for concurrent use and callbacks cannot keep
// state between calls.
type Program struct {
	filename string
	globals  starlark.StringDict
	maxSteps uint64
	log      *slog.Logger
}

var _ policy.Callbacks = (*Program)(nil)

// fileOptions is the Starlark dialect of callback scripts. While loops and recursion are
// allowed; the step limit is what stops a runaway.
func fileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             true,
		While:           true,
		TopLevelControl: true,
		Recursion:       true,
	}
}

// Load compiles and runs the script's top level once (to define functions) with a step
// limit; syntax errors and runtime errors name file:line:col.
func Load(filename string, src []byte, opts Options) (*Program, error) {
	return load(filename, src, opts, nil)
}

// load is Load with extra predeclared names (for tests).
func load(filename string, src []byte, opts Options, extra starlark.StringDict) (*Program, error) {
	p := &Program{filename: filename, maxSteps: opts.MaxSteps, log: opts.Log}
	if p.maxSteps == 0 {
		p.maxSteps = DefaultMaxSteps
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	predeclared := verdicts()
	for name, v := range extra {
		predeclared[name] = v
	}
	err := p.run(context.Background(), "", policy.Info{}, func(thread *starlark.Thread) error {
		g, err := starlark.ExecFileOptions(fileOptions(), thread, filename, src, predeclared)
		p.globals = g
		return err
	})
	if err != nil {
		return nil, err
	}
	p.globals.Freeze()
	return p, nil
}

// Has reports whether the script defines a callable top-level name (a function) name.
func (p *Program) Has(name string) bool {
	_, ok := p.globals[name].(starlark.Callable)
	return ok
}

// Names returns the script's callable top-level names, sorted: the callbacks a
// configuration may name.
func (p *Program) Names() []string {
	var names []string
	for name, v := range p.globals {
		if _, ok := v.(starlark.Callable); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// String returns the script's file name.
func (p *Program) String() string { return fmt.Sprintf("script %s", p.filename) }
