package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"

	"github.com/ftpgate/ftpgate/policy"
)

// Command calls the command callback name as name(command, param, session) and returns its
// verdict; an accepted verdict's Arg is the parameter to forward (arg, or the one the
// callback rewrote it to).
func (p *Program) Command(ctx context.Context, name string, info policy.Info, verb, arg string) (policy.Verdict, error) {
	args := starlark.Tuple{starlark.String(verb), starlark.String(arg), session(info)}
	v, err := p.call(ctx, name, info, args)
	if err != nil {
		return policy.Verdict{}, err
	}
	d, err := commandVerdict(v, arg)
	if err != nil {
		return policy.Verdict{}, fmt.Errorf("script: callback %s %w", name, err)
	}
	return p.explain(name, d), nil
}

// Answer calls the answer callback name as name(command, answer_code, answer_text, session)
// and returns its verdict on the answer to verb.
func (p *Program) Answer(ctx context.Context, name string, info policy.Info, verb string, code int, text string) (policy.Verdict, error) {
	args := starlark.Tuple{starlark.String(verb), starlark.MakeInt(code), starlark.String(text), session(info)}
	v, err := p.call(ctx, name, info, args)
	if err != nil {
		return policy.Verdict{}, err
	}
	d, err := answerVerdict(v)
	if err != nil {
		return policy.Verdict{}, fmt.Errorf("script: callback %s %w", name, err)
	}
	return p.explain(name, d), nil
}

// explain fills in the Reason of a verdict that refuses or changes something.
func (p *Program) explain(name string, d policy.Verdict) policy.Verdict {
	if d.Kind != policy.Accept {
		d.Reason = fmt.Sprintf("callback %s in %s: %s", name, p.filename, d.Kind)
	}
	return d
}

// call calls the callable global name with args.
func (p *Program) call(ctx context.Context, name string, info policy.Info, args starlark.Tuple) (starlark.Value, error) {
	fn, ok := p.globals[name].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("script: no callback %q in %s", name, p.filename)
	}
	var result starlark.Value
	err := p.run(ctx, name, info, func(thread *starlark.Thread) error {
		v, err := starlark.Call(thread, fn, args, nil)
		result = v
		return err
	})
	return result, err
}

// run runs body on a fresh, sandboxed thread with the step limit, cancelled when ctx is
// done, and turns what goes wrong (including a panic) into an error naming the callback
// (name; "" for the top level) and the script position.
func (p *Program) run(ctx context.Context, name string, info policy.Info, body func(*starlark.Thread) error) (err error) {
	what := "callback " + name
	if name == "" {
		what = "top level of " + p.filename
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("script: %s: %w", what, err)
	}
	exceeded := false
	thread := &starlark.Thread{
		Name: what,
		Print: func(_ *starlark.Thread, msg string) {
			p.log.LogAttrs(ctx, slog.LevelInfo, "script print",
				slog.String("file", p.filename), slog.String("callback", name),
				slog.Uint64("session", info.ID), slog.String("msg", msg))
		},
		Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
			return nil, errors.New("load() is not allowed in callback scripts")
		},
		OnMaxSteps: func(thread *starlark.Thread) {
			exceeded = true
			thread.Cancel("too many steps")
		},
	}
	thread.SetMaxExecutionSteps(p.maxSteps)
	stop := context.AfterFunc(ctx, func() { thread.Cancel(ctx.Err().Error()) })
	defer stop()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("script: %s panicked: %v", what, r)
		}
	}()

	err = body(thread)
	if err == nil {
		return nil
	}
	var evalErr *starlark.EvalError
	if !errors.As(err, &evalErr) {
		// Syntax and resolve errors carry their own file:line:col.
		if list, ok := err.(resolve.ErrorList); ok && len(list) > 1 {
			return fmt.Errorf("script: %w (and %d more errors)", err, len(list)-1)
		}
		return fmt.Errorf("script: %w", err)
	}
	at := p.position(evalErr)
	switch {
	case exceeded:
		return fmt.Errorf("script: %s exceeded %d steps (at %s)", what, p.maxSteps, at)
	case ctx.Err() != nil:
		return fmt.Errorf("script: %s: %w (at %s)", what, ctx.Err(), at)
	}
	return fmt.Errorf("script: %s: %s: %w", what, at, err)
}

// position returns where in the script an evaluation error happened: the innermost frame
// in the script's own file, as file:line:col.
func (p *Program) position(e *starlark.EvalError) string {
	for i := len(e.CallStack) - 1; i >= 0; i-- {
		if pos := e.CallStack[i].Pos; pos.Filename() == p.filename {
			return pos.String()
		}
	}
	return p.filename
}
