package wire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadArgument is wrapped by the errors of [ParseREST] and [ParseEPSVArg].
var ErrBadArgument = errors.New("ftp: bad argument")

// ErrProtocol is wrapped (together with [ErrBadAddress] or [ErrBadArgument]) when an EPRT or
// EPSV argument names a network protocol number other than 1 (IPv4) and 2 (IPv6): RFC 2428
// answers that with 522, not 501.
var ErrProtocol = errors.New("ftp: network protocol not supported")

// maxRestDigits is the number of digits of the largest int64.
const maxRestDigits = 19

// ParseREST parses the argument of REST in stream mode (RFC 3659 §5): a byte offset of
// decimal digits only (no sign, no spaces) that fits a signed 64-bit integer.
func ParseREST(arg string) (int64, error) {
	if arg == "" || len(arg) > maxRestDigits || strings.Trim(arg, "0123456789") != "" {
		return 0, fmt.Errorf("%w: REST %q: want a non-negative decimal offset", ErrBadArgument, truncate(arg, 32))
	}
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: REST %q: offset beyond 64 bits", ErrBadArgument, truncate(arg, 32))
	}
	return n, nil
}

// EPSVArg is the argument of EPSV (RFC 2428): none, a network protocol number, or ALL.
type EPSVArg struct {
	// Proto is 1 (IPv4) or 2 (IPv6), or 0 when EPSV named none.
	Proto int
	// All is set by "EPSV ALL": from then on only EPSV may set up data connections.
	All bool
}

// ParseEPSVArg parses the argument of EPSV: empty, "1", "2" or "ALL" (any case), spaces
// around it ignored. Another number is an error wrapping [ErrProtocol]; anything else one
// wrapping [ErrBadArgument].
func ParseEPSVArg(arg string) (EPSVArg, error) {
	a := strings.TrimSpace(arg)
	switch {
	case a == "":
		return EPSVArg{}, nil
	case a == "1", a == "2":
		return EPSVArg{Proto: int(a[0] - '0')}, nil
	case strings.EqualFold(a, "ALL"):
		return EPSVArg{All: true}, nil
	}
	if _, err := strconv.Atoi(a); err == nil {
		return EPSVArg{}, fmt.Errorf("%w: %w: EPSV %q", ErrBadArgument, ErrProtocol, truncate(a, 16))
	}
	return EPSVArg{}, fmt.Errorf("%w: EPSV %q: want 1, 2 or ALL", ErrBadArgument, truncate(a, 32))
}
