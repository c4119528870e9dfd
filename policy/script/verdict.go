package script

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/ftpgate/ftpgate/policy"
)

// maxText bounds the texts and parameters a script may hand back.
const maxText = 1024

// kindDrop is the kind of DROP, a packet callback's verdict (the packet is dropped). It is
// no policy.Kind: command, answer, transfer and chunk callbacks refuse it.
const kindDrop policy.Kind = -1

// verdict is the Starlark value of a callback's decision.
type verdict struct {
	kind    policy.Kind
	code    int
	text    string
	param   string
	rewrite bool // accept(param): param replaces the command's parameter
}

var _ starlark.Value = (*verdict)(nil)

// String renders v as the Starlark expression that builds it.
func (v *verdict) String() string {
	switch v.kind {
	case policy.Accept:
		if v.rewrite {
			return fmt.Sprintf("accept(%s)", starlark.String(v.param))
		}
		return "ACCEPT"
	case policy.Reject:
		return fmt.Sprintf("reject(%d, %s)", v.code, starlark.String(v.text))
	case policy.Change:
		return fmt.Sprintf("change(%d, %s)", v.code, starlark.String(v.text))
	case policy.Abort:
		return "ABORT"
	case kindDrop:
		return "DROP"
	}
	return "verdict(?)"
}

// Type returns "verdict".
func (v *verdict) Type() string { return "verdict" }

// Freeze does nothing: a verdict is immutable.
func (v *verdict) Freeze() {}

// Truth reports that every verdict is true.
func (v *verdict) Truth() starlark.Bool { return starlark.True }

// Hash hashes v's rendering, so equal verdicts may key a dict.
func (v *verdict) Hash() (uint32, error) { return starlark.String(v.String()).Hash() }

// verdicts returns the predeclared names a script sees besides the universe.
func verdicts() starlark.StringDict {
	return starlark.StringDict{
		"ACCEPT": &verdict{kind: policy.Accept},
		"ABORT":  &verdict{kind: policy.Abort},
		"DROP":   &verdict{kind: kindDrop},
		"accept": starlark.NewBuiltin("accept", builtinAccept),
		"reject": starlark.NewBuiltin("reject", builtinReject),
		"change": starlark.NewBuiltin("change", builtinChange),
		"abort":  starlark.NewBuiltin("abort", builtinAbort),
	}
}

// builtinAccept implements accept() and accept(param).
func builtinAccept(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var param starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "param?", &param); err != nil {
		return nil, err
	}
	if param == starlark.None {
		return &verdict{kind: policy.Accept}, nil
	}
	s, ok := starlark.AsString(param)
	if !ok {
		return nil, fmt.Errorf("%s: param must be a string or None, not %s", b.Name(), param.Type())
	}
	if err := checkText(s); err != nil {
		return nil, fmt.Errorf("%s: param: %w", b.Name(), err)
	}
	return &verdict{kind: policy.Accept, param: s, rewrite: true}, nil
}

// builtinReject implements reject(code=0, text="").
func builtinReject(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var code int
	var text string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "code?", &code, "text?", &text); err != nil {
		return nil, err
	}
	if code != 0 && (code < 200 || code > 599) {
		return nil, fmt.Errorf("%s: code %d is not in 200..599", b.Name(), code)
	}
	if err := checkText(text); err != nil {
		return nil, fmt.Errorf("%s: text: %w", b.Name(), err)
	}
	return &verdict{kind: policy.Reject, code: code, text: text}, nil
}

// builtinChange implements change(code, text).
func builtinChange(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var code int
	var text string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "code", &code, "text", &text); err != nil {
		return nil, err
	}
	if code < 100 || code > 599 {
		return nil, fmt.Errorf("%s: code %d is not in 100..599", b.Name(), code)
	}
	if err := checkText(text); err != nil {
		return nil, fmt.Errorf("%s: text: %w", b.Name(), err)
	}
	return &verdict{kind: policy.Change, code: code, text: text}, nil
}

// builtinAbort implements abort().
func builtinAbort(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return &verdict{kind: policy.Abort}, nil
}

// checkText refuses what cannot go into one FTP line.
func checkText(s string) error {
	if len(s) > maxText {
		return fmt.Errorf("%d bytes, more than %d", len(s), maxText)
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return errors.New("contains CR, LF or NUL")
	}
	return nil
}

// commandVerdict turns what a command callback returned into a verdict on a command whose
// parameter was arg.
func commandVerdict(v starlark.Value, arg string) (policy.Verdict, error) {
	d, err := asVerdict(v)
	if err != nil {
		return policy.Verdict{}, err
	}
	switch d.kind {
	case policy.Accept:
		if d.rewrite {
			arg = d.param
		}
		return policy.Verdict{Kind: policy.Accept, Arg: arg}, nil
	case policy.Reject, policy.Abort:
		return policy.Verdict{Kind: d.kind, Code: d.code, Text: d.text}, nil
	case kindDrop:
		return policy.Verdict{}, errDrop(d)
	}
	return policy.Verdict{}, fmt.Errorf("returned %s: change() is for answer callbacks", d)
}

// answerVerdict turns what an answer callback returned into a verdict on an answer.
func answerVerdict(v starlark.Value) (policy.Verdict, error) {
	d, err := asVerdict(v)
	if err != nil {
		return policy.Verdict{}, err
	}
	switch {
	case d.kind == policy.Accept && d.rewrite:
		return policy.Verdict{}, fmt.Errorf("returned %s: accept(param) is for command callbacks", d)
	case d.kind == kindDrop:
		return policy.Verdict{}, errDrop(d)
	}
	return policy.Verdict{Kind: d.kind, Code: d.code, Text: d.text}, nil
}

// errDrop is the error of a callback other than a packet callback that returned DROP (d).
func errDrop(d *verdict) error {
	return fmt.Errorf("returned %s: DROP is for packet callbacks", d)
}

// asVerdict checks that v is a verdict and still valid (a verdict is only built by the
// constructors, which validate; this is the second line).
func asVerdict(v starlark.Value) (*verdict, error) {
	d, ok := v.(*verdict)
	if !ok {
		return nil, fmt.Errorf("returned %s, want a verdict: ACCEPT, accept(), reject(), change() or ABORT", v.Type())
	}
	if err := checkText(d.text); err != nil {
		return nil, fmt.Errorf("returned %s: text: %w", d, err)
	}
	if err := checkText(d.param); err != nil {
		return nil, fmt.Errorf("returned %s: param: %w", d, err)
	}
	return d, nil
}
