package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Error is a configuration error. Its message has the form "FILE:LINE: PATH: MSG", where
// PATH is the key path of the offending value (e.g. "services[0].client_networks[1]");
// LINE and PATH are left out when they do not apply.
type Error struct {
	File string // the configuration file as given to Load or Parse
	Line int    // 1-based line, 0 when unknown
	Path string // key path, "" for the whole document
	Msg  string // what is wrong
	Err  error  // the underlying error, if any
}

// Error formats e as "FILE:LINE: PATH: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// yamlLine finds the "line N: " that yaml.v3 puts into its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into an *Error with the line it names.
func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Msg: err.Error(), Err: err}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	} else {
		e.Msg = strings.TrimPrefix(e.Msg, "yaml: ")
	}
	return e
}

// errorf builds an *Error at line with key path.
func errorf(file string, line int, path, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
}
