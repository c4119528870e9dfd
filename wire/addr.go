package wire

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrBadAddress is wrapped by the errors of the PORT, PASV, EPRT and EPSV parsers.
var ErrBadAddress = errors.New("ftp: bad address")

// ParsePORT parses the argument of PORT (RFC 959): "h1,h2,h3,h4,p1,p2", six decimal numbers
// 0..255 of 1..3 digits, spaces around each number tolerated. The port must not be 0.
func ParsePORT(arg string) (netip.AddrPort, error) {
	f := strings.Split(arg, ",")
	if len(f) != 6 {
		return netip.AddrPort{}, fmt.Errorf("%w: PORT %q: want 6 numbers", ErrBadAddress, truncate(arg, 64))
	}
	var n [6]byte
	for i, s := range f {
		v, ok := parseByte(strings.Trim(s, " "))
		if !ok {
			return netip.AddrPort{}, fmt.Errorf("%w: PORT %q: field %d is not 0..255", ErrBadAddress, truncate(arg, 64), i+1)
		}
		n[i] = v
	}
	return hostPort(n)
}

// FormatPORT returns the PORT argument for ap. An IPv4-mapped IPv6 address is unmapped;
// callers pass IPv4 addresses only: any other address is written as 0,0,0,0.
func FormatPORT(ap netip.AddrPort) string {
	return formatSix(ap)
}

// ParsePASVReply finds the address in the text of a 227 reply the way RFC 1123 §4.1.2.6
// asks: it scans for the first run of exactly six comma-separated decimal numbers (spaces
// around the commas tolerated), with or without parentheses, so both
// "Entering Passive Mode (198,51,100,1,4,1)." and "=198,51,100,1,4,1" work. Each number must
// be 0..255 and the port must not be 0.
func ParsePASVReply(text string) (netip.AddrPort, error) {
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		count, nums, next := scanNumberRun(text, i)
		if count != 6 {
			i = next
			continue
		}
		var n [6]byte
		for j, s := range nums {
			v, ok := parseByte(s)
			if !ok {
				return netip.AddrPort{}, fmt.Errorf("%w: PASV reply: number %q is not 0..255", ErrBadAddress, truncate(s, 16))
			}
			n[j] = v
		}
		return hostPort(n)
	}
	return netip.AddrPort{}, fmt.Errorf("%w: PASV reply %q: no h1,h2,h3,h4,p1,p2", ErrBadAddress, truncate(text, 64))
}

// FormatPASVReply returns the text of a 227 reply for ap:
// "Entering Passive Mode (h1,h2,h3,h4,p1,p2).". Addresses are treated as in [FormatPORT].
func FormatPASVReply(ap netip.AddrPort) string {
	return "Entering Passive Mode (" + formatSix(ap) + ")."
}

// ParseEPRT parses the argument of EPRT (RFC 2428): "<d>proto<d>addr<d>port<d>", where d is
// any one character 33..126 used four times. Protocol 1 takes a dotted-quad IPv4 address,
// protocol 2 an IPv6 address (without zone); an IPv4-mapped IPv6 address is unmapped. The
// port is decimal 1..65535.
func ParseEPRT(arg string) (netip.AddrPort, error) {
	bad := func(why string) (netip.AddrPort, error) {
		return netip.AddrPort{}, fmt.Errorf("%w: EPRT %q: %s", ErrBadAddress, truncate(arg, 64), why)
	}
	if len(arg) < 2 || arg[0] < 33 || arg[0] > 126 || arg[len(arg)-1] != arg[0] {
		return bad("want <d>proto<d>addr<d>port<d>")
	}
	f := strings.Split(arg[1:len(arg)-1], arg[:1])
	if len(f) != 3 {
		return bad("want <d>proto<d>addr<d>port<d>")
	}
	if f[0] != "1" && f[0] != "2" {
		if _, err := strconv.Atoi(f[0]); err == nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %w: EPRT %q", ErrBadAddress, ErrProtocol, truncate(arg, 64))
		}
		return bad("protocol is not 1 or 2")
	}
	port, ok := parsePort(f[2])
	if !ok {
		return bad("port is not 1..65535")
	}
	addr, err := netip.ParseAddr(f[1])
	if err != nil || addr.Zone() != "" {
		return bad("invalid address")
	}
	switch f[0] {
	case "1":
		if !addr.Is4() {
			return bad("protocol 1 needs an IPv4 address")
		}
	default:
		if !addr.Is6() {
			return bad("protocol 2 needs an IPv6 address")
		}
	}
	return netip.AddrPortFrom(addr.Unmap(), port), nil
}

// FormatEPRT returns the EPRT argument for ap: "|1|198.51.100.2|6446|" for IPv4 (and
// IPv4-mapped IPv6), "|2|2001:db8::2|6446|" for IPv6. A zone is dropped.
func FormatEPRT(ap netip.AddrPort) string {
	a := ap.Addr().Unmap().WithZone("")
	proto := "2"
	if a.Is4() {
		proto = "1"
	}
	return "|" + proto + "|" + a.String() + "|" + strconv.Itoa(int(ap.Port())) + "|"
}

// ParseEPSVReply finds the port in the text of a 229 reply (RFC 2428): the first
// "(<d><d><d>port<d>)" where d is one character 33..126 other than a digit, the same four
// times, and port is decimal 1..65535.
func ParseEPSVReply(text string) (uint16, error) {
	for i := strings.IndexByte(text, '('); i >= 0; {
		if p, ok := epsvAt(text[i:]); ok {
			return p, nil
		}
		j := strings.IndexByte(text[i+1:], '(')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return 0, fmt.Errorf("%w: EPSV reply %q: no (|||port|)", ErrBadAddress, truncate(text, 64))
}

// epsvAt parses "(<d><d><d>port<d>)" at the start of s.
func epsvAt(s string) (uint16, bool) {
	if len(s) < 7 || s[0] != '(' {
		return 0, false
	}
	d := s[1]
	if d < 33 || d > 126 || isDigit(d) || s[2] != d || s[3] != d {
		return 0, false
	}
	rest := s[4:]
	end := strings.IndexByte(rest, d)
	if end < 0 || end+1 >= len(rest) || rest[end+1] != ')' {
		return 0, false
	}
	return parsePort(rest[:end])
}

// FormatEPSVReply returns the text of a 229 reply: "Entering Extended Passive Mode (|||port|)".
func FormatEPSVReply(port uint16) string {
	return "Entering Extended Passive Mode (|||" + strconv.Itoa(int(port)) + "|)"
}

// hostPort builds an IPv4 address and port from h1..h4,p1,p2; port 0 is an error.
func hostPort(n [6]byte) (netip.AddrPort, error) {
	port := uint16(n[4])<<8 | uint16(n[5])
	if port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: port 0", ErrBadAddress)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(n[:4])), port), nil
}

// formatSix writes h1,h2,h3,h4,p1,p2; non-IPv4 addresses become 0,0,0,0.
func formatSix(ap netip.AddrPort) string {
	var h [4]byte
	if a := ap.Addr().Unmap(); a.Is4() {
		h = a.As4()
	}
	p := ap.Port()
	return fmt.Sprintf("%d,%d,%d,%d,%d,%d", h[0], h[1], h[2], h[3], p>>8, p&0xff)
}

// scanNumberRun reads a maximal run of comma-separated digit strings starting at text[i]
// (a digit), allowing spaces around the commas. It returns how many numbers the run has, the
// first six of them, and the index after the run.
func scanNumberRun(text string, i int) (count int, nums [6]string, next int) {
	for {
		j := i
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		if count < len(nums) {
			nums[count] = text[i:j]
		}
		count++
		next = j
		k := j
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k >= len(text) || text[k] != ',' {
			return count, nums, next
		}
		k++
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k >= len(text) || !isDigit(text[k]) {
			return count, nums, next
		}
		i = k
	}
}

// parseByte parses 1..3 decimal digits with a value of 0..255.
func parseByte(s string) (byte, bool) {
	v, ok := parseDecimal(s, 3, 0, 255)
	return byte(v), ok
}

// parsePort parses 1..5 decimal digits with a value of 1..65535.
func parsePort(s string) (uint16, bool) {
	v, ok := parseDecimal(s, 5, 1, 65535)
	return uint16(v), ok
}

// parseDecimal parses 1..digits decimal digits (nothing else) with a value of lo..hi.
func parseDecimal(s string, digits, lo, hi int) (int, bool) {
	if len(s) < 1 || len(s) > digits {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, v >= lo && v <= hi
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
