package wire

import (
	"strings"
	"testing"
)

func TestKnownVerb(t *testing.T) {
	known := strings.Fields("USER PASS ACCT CWD CDUP SMNT REIN QUIT PORT PASV TYPE STRU MODE RETR STOR STOU APPE ALLO REST " +
		"RNFR RNTO ABOR DELE RMD MKD PWD LIST NLST SITE SYST STAT HELP NOOP XCWD XCUP XMKD XRMD XPWD AUTH ADAT PROT PBSZ " +
		"CCC MIC CONF ENC FEAT OPTS EPRT EPSV LANG MDTM SIZE MLST MLSD HOST CLNT AVBL MFMT")
	for _, v := range known {
		if !Known(v) {
			t.Errorf("Known(%q) = false", v)
		}
	}
	for _, v := range []string{"", "XYZZY", "user", "NULL", "*", "RETRX", "SITECHMOD"} {
		if Known(v) {
			t.Errorf("Known(%q) = true", v)
		}
	}
}

func TestAllowedBeforeLogin(t *testing.T) {
	for _, v := range strings.Fields("USER PASS ACCT AUTH PBSZ PROT FEAT OPTS QUIT NOOP HOST") {
		if !beforeLogin(v) {
			t.Errorf("%s refused before login", v)
		}
	}
	for _, v := range strings.Fields("LIST RETR STOR CWD PWD SYST PASV PORT EPSV EPRT SITE HELP REST REIN") {
		if beforeLogin(v) {
			t.Errorf("%s allowed before login", v)
		}
	}
}

// beforeLogin is what the verb table says of verb before login.
func beforeLogin(verb string) bool {
	v, _ := Lookup(verb)
	return v.BeforeLogin
}

// TestVerbTable: the transfer directions, the write verbs and All's order.
func TestVerbTable(t *testing.T) {
	var writes []string
	all := All()
	for i, v := range all {
		if i > 0 && all[i-1].Name >= v.Name {
			t.Fatalf("All not sorted at %s", v.Name)
		}
		if v.Write {
			writes = append(writes, v.Name)
		}
	}
	if got, want := strings.Join(writes, " "), "APPE DELE MFCT MFF MFMT MKD RMD RNFR RNTO STOR STOU XMKD XRMD"; got != want {
		t.Errorf("write verbs %q, want %q", got, want)
	}
	for verb, want := range map[string]Direction{"RETR": Download, "LIST": Download, "NLST": Download, "MLSD": Download,
		"STOR": Upload, "STOU": Upload, "APPE": Upload, "MLST": NoData, "SIZE": NoData} {
		if v, _ := Lookup(verb); v.Transfer != want {
			t.Errorf("%s transfers %v, want %v", verb, v.Transfer, want)
		}
	}
	if v, ok := Lookup("XYZZY"); ok || v.Name != "XYZZY" || v.Write || v.Transfer != NoData {
		t.Errorf("unknown verb: %+v, %v", v, ok)
	}
}
