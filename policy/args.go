package policy

import (
	"errors"
	"strings"

	"github.com/ftpgate/ftpgate/wire"
)

// refusal is a built-in check's reply and the reason for the log.
type refusal struct {
	code   int
	text   string
	reason string
}

// The replies of the argument checks.
const (
	textSyntax      = "Syntax error in parameters or arguments."
	textNotForParam = "Command not implemented for that parameter."
	textBadProtocol = "Network protocol not supported, use (1,2)"
)

// checkArg checks the argument of the commands whose argument ftpgate must understand:
// TYPE (A, A N, I, L 8), MODE (S), STRU (F), REST (a non-negative 64-bit offset), PORT,
// EPRT and EPSV syntax, PASV (no argument) and USER (not empty). It returns nil when arg
// is fine or the verb has no check.
func checkArg(verb, arg string) *refusal {
	switch verb {
	case "TYPE":
		return checkType(arg)
	case "MODE":
		return checkOneOf(verb, arg, "S")
	case "STRU":
		return checkOneOf(verb, arg, "F")
	case "REST":
		if _, err := wire.ParseREST(arg); err != nil {
			return &refusal{wire.CodeArgSyntax, textSyntax, "REST needs a non-negative 64-bit decimal offset"}
		}
	case "PORT":
		if _, err := wire.ParsePORT(arg); err != nil {
			return &refusal{wire.CodeArgSyntax, textSyntax, "PORT needs h1,h2,h3,h4,p1,p2 with each field 0..255 and a port above 0"}
		}
	case "EPRT":
		return checkEPRT(arg)
	case "EPSV":
		return checkEPSV(arg)
	case "PASV":
		if arg != "" {
			return &refusal{wire.CodeArgSyntax, textSyntax, "PASV takes no argument"}
		}
	case "USER":
		if arg == "" {
			return &refusal{wire.CodeArgSyntax, textSyntax, "USER needs a user name"}
		}
	}
	return nil
}

// checkType accepts the representation types ftpgate can inspect: ASCII (with the
// non-print form) and image, and local with byte size 8, which is image.
func checkType(arg string) *refusal {
	f := strings.Fields(strings.ToUpper(arg))
	if len(f) == 0 || len(f) > 2 {
		return &refusal{wire.CodeArgSyntax, textSyntax, "TYPE needs a type and at most a form"}
	}
	switch {
	case f[0] == "A" && (len(f) == 1 || f[1] == "N"),
		f[0] == "I" && len(f) == 1,
		f[0] == "L" && len(f) == 2 && f[1] == "8":
		return nil
	}
	return &refusal{wire.CodeNotForParameter, textNotForParam, "TYPE " + arg + " not supported (only A, A N, I, L 8)"}
}

// checkOneOf accepts exactly want (case-insensitively) as the argument of verb.
func checkOneOf(verb, arg, want string) *refusal {
	a := strings.TrimSpace(arg)
	if a == "" {
		return &refusal{wire.CodeArgSyntax, textSyntax, verb + " needs an argument"}
	}
	if !strings.EqualFold(a, want) {
		return &refusal{wire.CodeNotForParameter, textNotForParam, verb + " " + arg + " not supported (only " + want + ", so transfers stay inspectable)"}
	}
	return nil
}

// checkEPRT checks EPRT's syntax (RFC 2428) with the wire grammar; an unknown network
// protocol number gets 522.
func checkEPRT(arg string) *refusal {
	_, err := wire.ParseEPRT(arg)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wire.ErrProtocol):
		return &refusal{wire.CodeNoProtocol, textBadProtocol, "EPRT network protocol not supported"}
	}
	return &refusal{wire.CodeArgSyntax, textSyntax, "EPRT needs |proto|address|port| with a matching address and a port 1..65535"}
}

// checkEPSV checks EPSV's argument (RFC 2428): none, "1", "2" or "ALL". Another protocol
// number gets 522.
func checkEPSV(arg string) *refusal {
	_, err := wire.ParseEPSVArg(arg)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wire.ErrProtocol):
		return &refusal{wire.CodeNoProtocol, textBadProtocol, "EPSV network protocol " + arg + " not supported"}
	}
	return &refusal{wire.CodeArgSyntax, textSyntax, "EPSV takes no argument, a protocol number or ALL"}
}
