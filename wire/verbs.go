package wire

import (
	"slices"
	"strings"
)

// Direction is the way a transfer command moves data over its data channel.
type Direction uint8

// The directions. The zero value is NoData: the verb opens no transfer (a relay that knows
// no transfer carries bytes both ways).
const (
	NoData   Direction = iota // no transfer
	Download                  // server to client: RETR, LIST, NLST, MLSD
	Upload                    // client to server: STOR, STOU, APPE
)

// String returns "download", "upload" or "none", as transfer records write them.
func (d Direction) String() string {
	switch d {
	case Download:
		return "download"
	case Upload:
		return "upload"
	}
	return "none"
}

// Verb says everything ftpgate needs to know about one command verb.
type Verb struct {
	// Name is the upper-case verb.
	Name string
	// BeforeLogin: the verb may pass before the server accepted a login (the login
	// commands, HOST, the RFC 2228 security commands, FEAT, OPTS, LANG, QUIT, NOOP).
	BeforeLogin bool
	// BeforeTLS: the verb may pass while policy requires TLS on the client leg and the
	// client has not yet negotiated it (AUTH and what a client sends to find it: FEAT, HELP,
	// NOOP, QUIT).
	BeforeTLS bool
	// Transfer is the way the verb moves data, or NoData.
	Transfer Direction
	// Restart: a preceding REST applies to this transfer (RETR, STOR, APPE).
	Restart bool
	// KeepsRest: the verb may come between REST and its transfer without cancelling it (the
	// data connection set-up and transfer parameters clients commonly send after REST).
	KeepsRest bool
	// Sensitive: the argument must never be logged (PASS, ACCT).
	Sensitive bool
	// File: the verb acts on a file or directory (a refusal defaults to 550, not 500).
	File bool
	// Write: the verb changes what the server stores (a read-only policy refuses it).
	Write bool
}

// verb flags, to keep the table below one line per verb.
const (
	fLogin = 1 << iota
	fTLS
	fRestart
	fKeepsRest
	fSensitive
	fFile
	fWrite
)

// table is the one verb table: RFC 959 and its RFC 775 X-variants, RFC 2228 (security),
// RFC 2389 (FEAT, OPTS), RFC 2428 (EPRT, EPSV), RFC 2640 (LANG), RFC 3659 (MDTM, SIZE, MLST,
// MLSD), RFC 7151 (HOST) and widespread extensions (CLNT, AVBL, MFMT, MFCT, MFF, MACB, PRET,
// HASH, XCRC).
var table = func() map[string]Verb {
	rows := []struct {
		name  string
		flags int
		dir   Direction
	}{
		// RFC 959: access control.
		{"USER", fLogin, NoData}, {"PASS", fLogin | fSensitive, NoData}, {"ACCT", fLogin | fSensitive, NoData},
		{"CWD", fFile, NoData}, {"CDUP", fFile, NoData}, {"SMNT", fFile, NoData},
		{"REIN", 0, NoData}, {"QUIT", fLogin | fTLS, NoData},
		// RFC 959: transfer parameters.
		{"PORT", fKeepsRest, NoData}, {"PASV", fKeepsRest, NoData}, {"TYPE", fKeepsRest, NoData},
		{"STRU", fKeepsRest, NoData}, {"MODE", fKeepsRest, NoData},
		// RFC 959: service commands.
		{"RETR", fFile | fRestart, Download}, {"STOR", fFile | fRestart | fWrite, Upload},
		{"STOU", fFile | fWrite, Upload}, {"APPE", fFile | fRestart | fWrite, Upload},
		{"ALLO", 0, NoData}, {"REST", 0, NoData}, {"RNFR", fFile | fWrite, NoData}, {"RNTO", fFile | fWrite, NoData},
		{"ABOR", 0, NoData}, {"DELE", fFile | fWrite, NoData}, {"RMD", fFile | fWrite, NoData}, {"MKD", fFile | fWrite, NoData},
		{"PWD", 0, NoData}, {"LIST", fFile, Download}, {"NLST", fFile, Download},
		{"SITE", 0, NoData}, {"SYST", 0, NoData}, {"STAT", 0, NoData}, {"HELP", fTLS, NoData},
		{"NOOP", fLogin | fTLS | fKeepsRest, NoData},
		// RFC 775 (and RFC 1123): the X-variants.
		{"XCWD", fFile, NoData}, {"XCUP", fFile, NoData}, {"XMKD", fFile | fWrite, NoData},
		{"XRMD", fFile | fWrite, NoData}, {"XPWD", 0, NoData},
		// RFC 2228.
		{"AUTH", fLogin | fTLS, NoData}, {"ADAT", fLogin, NoData}, {"PROT", fLogin, NoData},
		{"PBSZ", fLogin, NoData}, {"CCC", 0, NoData}, {"MIC", fLogin, NoData},
		{"CONF", fLogin, NoData}, {"ENC", fLogin, NoData},
		// RFC 2389, RFC 2428, RFC 2640, RFC 3659, RFC 7151.
		{"FEAT", fLogin | fTLS, NoData}, {"OPTS", fLogin, NoData},
		{"EPRT", fKeepsRest, NoData}, {"EPSV", fKeepsRest, NoData}, {"LANG", fLogin, NoData},
		{"MDTM", fFile, NoData}, {"SIZE", fFile, NoData}, {"MLST", fFile, NoData},
		{"MLSD", fFile, Download}, {"HOST", fLogin, NoData},
		// Common extensions.
		{"CLNT", fLogin, NoData}, {"AVBL", 0, NoData}, {"MFMT", fFile | fWrite, NoData},
		{"MFCT", fFile | fWrite, NoData}, {"MFF", fFile | fWrite, NoData}, {"MACB", 0, NoData},
		{"PRET", fKeepsRest, NoData}, {"HASH", fFile, NoData}, {"XCRC", fFile, NoData},
	}
	m := make(map[string]Verb, len(rows))
	for _, r := range rows {
		m[r.name] = Verb{
			Name:        r.name,
			BeforeLogin: r.flags&fLogin != 0,
			BeforeTLS:   r.flags&fTLS != 0,
			Transfer:    r.dir,
			Restart:     r.flags&fRestart != 0,
			KeepsRest:   r.flags&fKeepsRest != 0,
			Sensitive:   r.flags&fSensitive != 0,
			File:        r.flags&fFile != 0,
			Write:       r.flags&fWrite != 0,
		}
	}
	return m
}()

// Lookup returns what the verb table says of verb (upper case). ok is false for a verb no
// RFC and no common extension defines; its Verb then has only the Name and every flag off.
func Lookup(verb string) (v Verb, ok bool) {
	v, ok = table[verb]
	if !ok {
		v.Name = verb
	}
	return v, ok
}

// Known reports whether some RFC or common practice defines verb (upper case).
func Known(verb string) bool {
	_, ok := table[verb]
	return ok
}

// All returns every verb of the table, sorted by name.
func All() []Verb {
	out := make([]Verb, 0, len(table))
	for _, v := range table {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Verb) int { return strings.Compare(a.Name, b.Name) })
	return out
}
