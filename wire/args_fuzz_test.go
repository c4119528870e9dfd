package wire

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseREST(f *testing.F) {
	for _, s := range []string{"0", "100", "9223372036854775807", "9223372036854775808", "-1", "+1", " 1", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		n, err := ParseREST(arg)
		if err != nil {
			if !errors.Is(err, ErrBadArgument) {
				t.Fatalf("error %v does not wrap ErrBadArgument", err)
			}
			return
		}
		if n < 0 || strings.TrimLeft(strconv.FormatInt(n, 10), "0") != strings.TrimLeft(arg, "0") {
			t.Fatalf("ParseREST(%q) = %d", arg, n)
		}
	})
}

func FuzzParseEPSVArg(f *testing.F) {
	for _, s := range []string{"", "1", "2", "ALL", "all", " 2 ", "3", "01", "x", "ALL 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		a, err := ParseEPSVArg(arg)
		if err != nil {
			if !errors.Is(err, ErrBadArgument) {
				t.Fatalf("error %v does not wrap ErrBadArgument", err)
			}
			return
		}
		if a.All && a.Proto != 0 || a.Proto != 0 && a.Proto != 1 && a.Proto != 2 {
			t.Fatalf("ParseEPSVArg(%q) = %+v", arg, a)
		}
	})
}

// TestParseEPSVArg: the EPSV arguments RFC 2428 allows, and the 522 case for an unknown
// network protocol.
func TestParseEPSVArg(t *testing.T) {
	for _, tt := range []struct {
		arg      string
		want     EPSVArg
		protocol bool // the error wraps ErrProtocol
		bad      bool
	}{
		{"", EPSVArg{}, false, false},
		{"1", EPSVArg{Proto: 1}, false, false},
		{" 2 ", EPSVArg{Proto: 2}, false, false},
		{"all", EPSVArg{All: true}, false, false},
		{"3", EPSVArg{}, true, true},
		{"x", EPSVArg{}, false, true},
	} {
		got, err := ParseEPSVArg(tt.arg)
		if (err != nil) != tt.bad || errors.Is(err, ErrProtocol) != tt.protocol || got != tt.want {
			t.Errorf("ParseEPSVArg(%q) = %+v, %v", tt.arg, got, err)
		}
	}
}

// TestParseREST: decimal offsets up to the int64 maximum; no sign, no space.
func TestParseREST(t *testing.T) {
	for arg, want := range map[string]int64{"0": 0, "100": 100, "9223372036854775807": 1<<63 - 1} {
		if got, err := ParseREST(arg); err != nil || got != want {
			t.Errorf("ParseREST(%q) = %d, %v", arg, got, err)
		}
	}
	for _, arg := range []string{"", "-1", "+1", " 1", "9223372036854775808", "1e3"} {
		if _, err := ParseREST(arg); !errors.Is(err, ErrBadArgument) {
			t.Errorf("ParseREST(%q) accepted", arg)
		}
	}
}
