package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ftpgate/ftpgate/wire"
)

// ErrUnknownPreset is wrapped by Preset's error for a name it does not know.
var ErrUnknownPreset = errors.New("unknown preset")

// The preset names.
const (
	PresetDeny      = "deny"
	PresetReadonly  = "readonly"
	PresetReadwrite = "readwrite"
	PresetAllow     = "allow"
	PresetAnonymous = "anonymous"
)

// PresetNames returns the names Preset accepts, sorted.
func PresetNames() []string {
	return []string{PresetAllow, PresetAnonymous, PresetDeny, PresetReadonly, PresetReadwrite}
}

// Preset returns a fresh, mutable policy named name, to use as it is or as the base a
// configuration overrides:
//
//   - deny: nothing but login and data connection set-up: USER PASS ACCT QUIT, the TLS
//     commands AUTH PBSZ PROT, FEAT, and PORT PASV EPRT EPSV TYPE MODE STRU.
//   - readonly: every standard command that does not change what the server stores
//     (readonlyCommands: RFC 959, 2228, 2389, 2428, 2640, 3659, 4217, 7151, the X* aliases,
//     and the widespread read-only extensions CLNT PRET AVBL HASH XCRC), SITE with the
//     subcommands HELP and IDLE.
//   - readwrite: readonly plus the writes: APPE DELE MKD RMD RNFR RNTO STOR STOU ALLO XMKD
//     XRMD MFMT MFCT MFF, and SITE CHMOD UMASK UTIME.
//   - allow: everything ("*" accepted, unknown commands permitted, any SITE), like Zorp's
//     FtpProxy.
//   - anonymous: readonly, and USER only for "anonymous" and "ftp" (FtpProxyAnonRO).
//
// In every preset but allow the other commands are refused ("*" rejects: 550 for file
// commands, 500 for the rest) and unknown commands get 500. Answers: every well-formed
// answer reaches the client unchanged, in every preset ("*" accepts; 421 ends the
// session); the table also lists, per command, the codes the RFCs allow (Zorp's
// loadAnswers plus the RFCs' codes for the extensions), so that an operator who wants
// Zorp's strictness writes answers: {"*": reject}. Every preset removes the "MODE Z"
// feature, since only MODE S passes.
func Preset(name string) (*Policy, error) {
	var p *Policy
	switch name {
	case PresetDeny:
		p = strict(denyCommands())
	case PresetReadonly:
		p = strict(readonlyCommands())
		p.SiteCommands = readonlySite()
	case PresetReadwrite:
		p = strict(readwriteCommands())
		p.SiteCommands = append(readonlySite(), writeSite()...)
	case PresetAnonymous:
		p = strict(readonlyCommands())
		p.SiteCommands = readonlySite()
		p.AllowedUsers = []string{"anonymous", "ftp"}
	case PresetAllow:
		p = &Policy{
			Commands: map[string]Action{Wildcard: {Kind: Accept}},
			Answers: map[string]Action{
				Wildcard:         {Kind: Accept},
				Wildcard + "421": {Kind: Abort},
			},
			PermitUnknownCommand: true,
		}
	default:
		return nil, fmt.Errorf("policy: %w %q (want one of %s)", ErrUnknownPreset, name, strings.Join(PresetNames(), ", "))
	}
	p.Name = name
	p.Features.Remove = []string{"MODE Z"}
	return p, nil
}

// strict builds a policy that accepts verbs and refuses every other command and answer.
func strict(verbs []string) *Policy {
	cmds := make(map[string]Action, len(verbs)+1)
	for _, v := range verbs {
		cmds[v] = Action{Kind: Accept}
	}
	cmds[Wildcard] = Action{Kind: Reject}
	return &Policy{Commands: cmds, Answers: answerTable()}
}

// denyCommands are the commands of the deny preset.
func denyCommands() []string {
	return strings.Fields("USER PASS ACCT QUIT AUTH PBSZ PROT FEAT PORT PASV EPRT EPSV TYPE MODE STRU")
}

// readonlyCommands are the commands of the readonly and anonymous presets: every verb of
// the verb table that does not write, but the RFC 2228 mechanisms other than TLS (ADAT MIC
// CONF ENC, answered 504 by the session anyway), CCC (tls.ccc decides) and SMNT.
func readonlyCommands() []string {
	var out []string
	for _, v := range wire.All() {
		switch v.Name {
		case "ADAT", "MIC", "CONF", "ENC", "CCC", "SMNT", "MACB", "ALLO":
			continue
		}
		if !v.Write {
			out = append(out, v.Name)
		}
	}
	return out
}

// readwriteCommands are the commands of the readwrite preset: readonly and every verb the
// verb table marks as a write, and ALLO.
func readwriteCommands() []string {
	out := append(readonlyCommands(), "ALLO")
	for _, v := range wire.All() {
		if v.Write {
			out = append(out, v.Name)
		}
	}
	return out
}

// readonlySite are the SITE subcommands of the read-only presets.
func readonlySite() []string { return []string{"HELP", "IDLE"} }

// writeSite are the SITE subcommands readwrite adds.
func writeSite() []string { return []string{"CHMOD", "UMASK", "UTIME"} }
