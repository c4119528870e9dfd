package wire

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParsePORT(t *testing.T) {
	tests := []struct {
		arg  string
		want string // "" means error
	}{
		{"198,51,100,2,4,1", "198.51.100.2:1025"},
		{"198,51,100,2,0,1", "198.51.100.2:1"},
		{"198,51,100,2,255,255", "198.51.100.2:65535"},
		{" 198 , 51,100 ,2, 4 ,1 ", "198.51.100.2:1025"},
		{"198,051,100,002,4,1", "198.51.100.2:1025"},
		{"0,0,0,0,4,1", "0.0.0.0:1025"},
		{"198,51,100,2,0,0", ""},
		{"198,51,100,2,4", ""},
		{"198,51,100,2,4,1,7", ""},
		{"198,51,100,256,4,1", ""},
		{"198,51,100,2,4,256", ""},
		{"198,51,100,0002,4,1", ""},
		{"198,51,100,-2,4,1", ""},
		{"198,51,100,+2,4,1", ""},
		{"198,51,100,,4,1", ""},
		{"198,51,100,2,4,1,", ""},
		{"198,51,100,2,4,0x1", ""},
		{"198.51.100.2,4,1", ""},
		{"198,51,100,2,4,1\t", ""},
		{"", ""},
	}
	for _, tt := range tests {
		checkAddr(t, "ParsePORT", tt.arg, tt.want)(ParsePORT(tt.arg))
	}
}

func TestParsePASVReply(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"Entering Passive Mode (198,51,100,1,4,1).", "198.51.100.1:1025"},
		{"227 Entering Passive Mode (198,51,100,1,4,1)", "198.51.100.1:1025"},
		{"=198,51,100,1,4,1", "198.51.100.1:1025"},
		{"Entering Passive Mode 198,51,100,1,4,1", "198.51.100.1:1025"},
		{"Entering Passive Mode (198, 51, 100, 1, 4, 1)", "198.51.100.1:1025"},
		{"Version 2,0 says (198,51,100,1,4,1)", "198.51.100.1:1025"},
		{"1,2,3,4,5,6,7 then (198,51,100,1,4,1)", "198.51.100.1:1025"},
		{"(198,51,100,1,4,1) (203,0,113,1,4,1)", "198.51.100.1:1025"},
		{"Entering Passive Mode (198,51,100,1,4,1", "198.51.100.1:1025"},
		{"Entering Passive Mode (198,51,100,1,0,0)", ""},
		{"Entering Passive Mode (198,51,100,1,4,256)", ""},
		{"Entering Passive Mode (198,51,100,1000,4,1)", ""},
		{"Entering Passive Mode (198,51,100,1,4)", ""},
		{"Entering Passive Mode (198,51,100,1,4,1,9)", ""},
		{"Entering Passive Mode", ""},
		{"", ""},
	}
	for _, tt := range tests {
		checkAddr(t, "ParsePASVReply", tt.text, tt.want)(ParsePASVReply(tt.text))
	}
}

func TestParseEPRT(t *testing.T) {
	tests := []struct {
		arg  string
		want string
	}{
		// RFC 2428 §2 examples, with documentation addresses.
		{"|1|198.51.100.2|6446|", "198.51.100.2:6446"},
		{"|2|2001:db8::2|6446|", "[2001:db8::2]:6446"},
		{"|2|2001:db8:0:0:0:0:0:2|5282|", "[2001:db8::2]:5282"},
		{"!1!198.51.100.2!1!", "198.51.100.2:1"},
		{"~2~2001:db8::2~65535~", "[2001:db8::2]:65535"},
		{"|2|::ffff:198.51.100.2|6446|", "198.51.100.2:6446"},
		{"|1|198.51.100.2|0|", ""},
		{"|1|198.51.100.2|65536|", ""},
		{"|1|198.51.100.2|-1|", ""},
		{"|1|198.51.100.2||", ""},
		{"|1|198.51.100.2|6446", ""},
		{"|1|198.51.100.2|6446|x", ""},
		{"|1|198.51.100.2!6446|", ""},
		{"|1|2001:db8::2|6446|", ""},
		{"|2|198.51.100.2|6446|", ""},
		{"|3|198.51.100.2|6446|", ""},
		{"||198.51.100.2|6446|", ""},
		{"|01|198.51.100.2|6446|", ""},
		{"|1|198.051.100.2|6446|", ""},
		{"|1|198.51.100|6446|", ""},
		{"|2|fe80::1%eth0|6446|", ""},
		{"|1| 198.51.100.2|6446|", ""},
		{"|1|198.51.100.2| 6446|", ""},
		{"|1|198.51.100.2|6446|6446|", ""},
		{" 1 198.51.100.2 6446 ", ""},
		{"\x7f1\x7f198.51.100.2\x7f6446\x7f", ""},
		{"|", ""},
		{"", ""},
	}
	for _, tt := range tests {
		checkAddr(t, "ParseEPRT", tt.arg, tt.want)(ParseEPRT(tt.arg))
	}
}

func TestParseEPSVReply(t *testing.T) {
	tests := []struct {
		text string
		want uint16 // 0 means error
	}{
		{"Entering Extended Passive Mode (|||6446|)", 6446},
		{"229 Entering Extended Passive Mode (|||6446|).", 6446},
		{"(!!!1!)", 1},
		{"(|||65535|)", 65535},
		{"x (nope) (|||6446|)", 6446},
		{"((|||6446|)", 6446},
		{"(|||0|)", 0},
		{"(|||65536|)", 0},
		{"(|||123456|)", 0},
		{"(||||)", 0},
		{"(|||6446|", 0},
		{"(|||6446!)", 0},
		{"(||!6446|)", 0},
		{"(|1|198.51.100.1|6446|)", 0},
		{"(1116446 1)", 0},
		{"(   6446 )", 0},
		{"Entering Extended Passive Mode", 0},
		{"", 0},
	}
	for _, tt := range tests {
		got, err := ParseEPSVReply(tt.text)
		if tt.want == 0 {
			if !errors.Is(err, ErrBadAddress) {
				t.Errorf("ParseEPSVReply(%q) = %d, %v; want ErrBadAddress", tt.text, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseEPSVReply(%q) = %d, %v; want %d", tt.text, got, err, tt.want)
		}
	}
}

func TestFormatAddrs(t *testing.T) {
	v4 := netip.MustParseAddrPort("198.51.100.2:6446")
	mapped := netip.MustParseAddrPort("[::ffff:198.51.100.2]:6446")
	v6 := netip.MustParseAddrPort("[2001:db8::2]:6446")
	zoned := netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), 21)
	tests := []struct {
		name, got, want string
	}{
		{"PORT v4", FormatPORT(v4), "198,51,100,2,25,46"},
		{"PORT mapped", FormatPORT(mapped), "198,51,100,2,25,46"},
		{"PORT v6", FormatPORT(v6), "0,0,0,0,25,46"},
		{"PASV v4", FormatPASVReply(netip.MustParseAddrPort("198.51.100.1:1025")), "Entering Passive Mode (198,51,100,1,4,1)."},
		{"PASV mapped", FormatPASVReply(mapped), "Entering Passive Mode (198,51,100,2,25,46)."},
		{"EPRT v4", FormatEPRT(v4), "|1|198.51.100.2|6446|"},
		{"EPRT mapped", FormatEPRT(mapped), "|1|198.51.100.2|6446|"},
		{"EPRT v6", FormatEPRT(v6), "|2|2001:db8::2|6446|"},
		{"EPRT zone dropped", FormatEPRT(zoned), "|2|fe80::1|21|"},
		{"EPSV", FormatEPSVReply(6446), "Entering Extended Passive Mode (|||6446|)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// Each format parses back to the (unmapped) input.
	for _, ap := range []netip.AddrPort{v4, mapped, v6} {
		want := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if want.Addr().Is4() {
			checkAddr(t, "ParsePORT(FormatPORT)", ap.String(), want.String())(ParsePORT(FormatPORT(ap)))
			checkAddr(t, "ParsePASVReply(FormatPASVReply)", ap.String(), want.String())(ParsePASVReply(FormatPASVReply(ap)))
		}
		checkAddr(t, "ParseEPRT(FormatEPRT)", ap.String(), want.String())(ParseEPRT(FormatEPRT(ap)))
	}
	if p, err := ParseEPSVReply(FormatEPSVReply(6446)); err != nil || p != 6446 {
		t.Errorf("ParseEPSVReply(FormatEPSVReply(6446)) = %d, %v", p, err)
	}
}

// checkAddr returns a function that checks a parser's result against want ("" = error).
func checkAddr(t *testing.T, fn, in, want string) func(netip.AddrPort, error) {
	return func(got netip.AddrPort, err error) {
		t.Helper()
		if want == "" {
			if !errors.Is(err, ErrBadAddress) {
				t.Errorf("%s(%q) = %v, %v; want ErrBadAddress", fn, in, got, err)
			}
			return
		}
		if err != nil || got.String() != want {
			t.Errorf("%s(%q) = %v, %v; want %s", fn, in, got, err, want)
		}
	}
}
