package policy

import (
	"errors"
	"fmt"
	"strings"
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
//   - readonly: the Zorp minimal set (FtpProxyRO), with OPTS: ABOR ACCT AUTH CDUP CWD EPRT
//     EPSV FEAT LIST MODE MDTM MLST MLSD NLST NOOP OPTS PASV PASS PBSZ PORT PROT PWD QUIT
//     REST RETR SIZE STAT STRU SYST TYPE USER.
//   - readwrite: readonly plus APPE DELE MKD RMD RNFR RNTO STOR STOU ALLO (FtpProxyRW).
//   - allow: everything ("*" accepted, unknown commands permitted, every answer accepted
//     but 421, which ends the session), like Zorp's FtpProxy.
//   - anonymous: readonly, and USER only for "anonymous" and "ftp" (FtpProxyAnonRO).
//
// In every preset but allow the other commands are refused ("*" rejects: 550 for file
// commands, 500 for the rest), unknown commands get 500, and the answer table holds the
// valid codes per command (Zorp's loadAnswers plus the RFCs' codes for the extensions);
// any other answer reaches the client as "500 Error parsing answer". Every preset removes
// the "MODE Z" feature, since only MODE S passes.
func Preset(name string) (*Policy, error) {
	var p *Policy
	switch name {
	case PresetDeny:
		p = strict(denyCommands())
	case PresetReadonly:
		p = strict(readonlyCommands())
	case PresetReadwrite:
		p = strict(readwriteCommands())
	case PresetAnonymous:
		p = strict(readonlyCommands())
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

// readonlyCommands are the commands of the readonly and anonymous presets.
func readonlyCommands() []string {
	return strings.Fields("ABOR ACCT AUTH CDUP CWD EPRT EPSV FEAT LIST MODE MDTM MLST MLSD NLST NOOP OPTS " +
		"PASV PASS PBSZ PORT PROT PWD QUIT REST RETR SIZE STAT STRU SYST TYPE USER")
}

// readwriteCommands are the commands of the readwrite preset.
func readwriteCommands() []string {
	return append(readonlyCommands(), strings.Fields("APPE DELE MKD RMD RNFR RNTO STOR STOU ALLO")...)
}
