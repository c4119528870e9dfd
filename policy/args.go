package policy

import (
	"net/netip"
	"strconv"
	"strings"
)

// refusal is a built-in check's reply and the reason for the log.
type refusal struct {
	code   int
	text   string
	reason string
}

// The replies of the argument checks.
const (
	textSyntax        = "Syntax error in parameters or arguments."
	textNotForParam   = "Command not implemented for that parameter."
	textBadProtocol   = "Network protocol not supported, use (1,2)"
	maxRestDigits     = 19 // the digits of the largest int64
	eprtMinDelimiter  = 33
	eprtMaxDelimiter  = 126
	portFieldCount    = 6
	maxPortFieldValue = 255
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
		if _, ok := parseRest(arg); !ok {
			return &refusal{501, textSyntax, "REST needs a non-negative 64-bit decimal offset"}
		}
	case "PORT":
		if !validPort(arg) {
			return &refusal{501, textSyntax, "PORT needs h1,h2,h3,h4,p1,p2 with each field 0..255"}
		}
	case "EPRT":
		return checkEPRT(arg)
	case "EPSV":
		return checkEPSV(arg)
	case "PASV":
		if arg != "" {
			return &refusal{501, textSyntax, "PASV takes no argument"}
		}
	case "USER":
		if arg == "" {
			return &refusal{501, textSyntax, "USER needs a user name"}
		}
	}
	return nil
}

// checkType accepts the representation types ftpgate can inspect: ASCII (with the
// non-print form) and image, and local with byte size 8, which is image.
func checkType(arg string) *refusal {
	f := strings.Fields(strings.ToUpper(arg))
	if len(f) == 0 || len(f) > 2 {
		return &refusal{501, textSyntax, "TYPE needs a type and at most a form"}
	}
	switch {
	case f[0] == "A" && (len(f) == 1 || f[1] == "N"),
		f[0] == "I" && len(f) == 1,
		f[0] == "L" && len(f) == 2 && f[1] == "8":
		return nil
	}
	return &refusal{504, textNotForParam, "TYPE " + arg + " not supported (only A, A N, I, L 8)"}
}

// checkOneOf accepts exactly want (case-insensitively) as the argument of verb.
func checkOneOf(verb, arg, want string) *refusal {
	a := strings.TrimSpace(arg)
	if a == "" {
		return &refusal{501, textSyntax, verb + " needs an argument"}
	}
	if !strings.EqualFold(a, want) {
		return &refusal{504, textNotForParam, verb + " " + arg + " not supported (only " + want + ", so transfers stay inspectable)"}
	}
	return nil
}

// parseRest parses a REST argument: decimal digits only, no sign, fitting an int64.
func parseRest(arg string) (int64, bool) {
	if arg == "" || len(arg) > maxRestDigits {
		return 0, false
	}
	for i := 0; i < len(arg); i++ {
		if arg[i] < '0' || arg[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(arg, 10, 64)
	return n, err == nil
}

// validPort checks PORT's syntax: six comma-separated decimal fields, each 0..255.
func validPort(arg string) bool {
	f := strings.Split(strings.TrimSpace(arg), ",")
	if len(f) != portFieldCount {
		return false
	}
	for _, s := range f {
		if s == "" || len(s) > 3 || strings.Trim(s, "0123456789") != "" {
			return false
		}
		if n, _ := strconv.Atoi(s); n > maxPortFieldValue {
			return false
		}
	}
	return true
}

// checkEPRT checks EPRT's syntax (RFC 2428): <d>proto<d>address<d>port<d>, the delimiter
// a printable ASCII character, proto 1 (IPv4) or 2 (IPv6) matching the address, port
// 1..65535. An unknown protocol number gets 522.
func checkEPRT(arg string) *refusal {
	bad := &refusal{501, textSyntax, "EPRT needs |proto|address|port|"}
	if len(arg) < 2 || arg[0] < eprtMinDelimiter || arg[0] > eprtMaxDelimiter {
		return bad
	}
	d := arg[:1]
	f := strings.Split(arg, d)
	if len(f) != 5 || f[0] != "" || f[4] != "" {
		return bad
	}
	if f[1] != "1" && f[1] != "2" {
		if _, err := strconv.Atoi(f[1]); err == nil {
			return &refusal{522, textBadProtocol, "EPRT network protocol " + f[1] + " not supported"}
		}
		return bad
	}
	addr, err := netip.ParseAddr(f[2])
	if err != nil || addr.Zone() != "" || (f[1] == "1") != addr.Is4() {
		return &refusal{501, textSyntax, "EPRT address does not match protocol " + f[1]}
	}
	if port, err := strconv.Atoi(f[3]); err != nil || port < 1 || port > 65535 || strings.Trim(f[3], "0123456789") != "" {
		return &refusal{501, textSyntax, "EPRT port must be 1..65535"}
	}
	return nil
}

// checkEPSV checks EPSV's argument (RFC 2428): none, "1", "2" or "ALL". Another protocol
// number gets 522.
func checkEPSV(arg string) *refusal {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "", "1", "2", "ALL":
		return nil
	}
	if _, err := strconv.Atoi(strings.TrimSpace(arg)); err == nil {
		return &refusal{522, textBadProtocol, "EPSV network protocol " + arg + " not supported"}
	}
	return &refusal{501, textSyntax, "EPSV takes no argument, a protocol number or ALL"}
}
