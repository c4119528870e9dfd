package ftp

import (
	"strings"

	"github.com/ftpgate/ftpgate/policy"
	"github.com/ftpgate/ftpgate/wire"
)

// handleProt serves PROT on a TLS client leg: C or P, within the policy's data_protection,
// set on the client leg and, when the server leg is TLS, passed on to it.
func (s *Session) handleProt(cmd wire.Command, serverTLS bool) error {
	level := strings.ToUpper(strings.TrimSpace(cmd.Arg))
	if level != "C" && level != "P" {
		s.refuse("PROT level not supported", wire.NewReply(wire.CodeProtNotSupported, "Only PROT C and PROT P are supported."), "arg", cmd.Arg)
		return nil
	}
	if level == "C" {
		if why, text := s.protCRefusal(); why != "" {
			s.refuse(why, wire.NewReply(wire.CodeTLSRefused, text))
			return nil
		}
	}
	s.mu.Lock()
	s.tls.clientProt = level == "P"
	s.tls.clientProtAsked = s.tls.clientProtAsked || level == "P"
	s.mu.Unlock()
	if !serverTLS {
		s.reply(wire.NewReply(wire.CodeOK, "Protection level set to "+level+"."))
		return nil
	}
	return s.forwardHook(wire.Command{Verb: "PROT", Arg: level}, func(r wire.Reply) *wire.Reply {
		if wire.Positive(r.Code) {
			s.mu.Lock()
			s.tls.serverProt = level == "P"
			s.mu.Unlock()
		}
		return &r
	})
}

// protCRefusal says why PROT C is refused (why and the reply's text), or "" when it passes:
// tls.data_protection required refuses it always, sticky (the default) once the client has
// asked for PROT P, so that no file crosses in the clear after the client asked for
// protection.
func (s *Session) protCRefusal() (why, text string) {
	s.mu.Lock()
	asked := s.tls.clientProtAsked
	s.mu.Unlock()
	switch s.cfg.TLS.DataProtection {
	case policy.ProtAny:
		return "", ""
	case policy.ProtRequired:
		return "PROT C (data_protection: required)", "PROT C refused: data connections must be protected here."
	}
	if asked {
		return "PROT C after PROT P (data_protection: sticky)", "PROT C refused: data protection stays on once asked for."
	}
	return "", ""
}

// protGate refuses (521, RFC 4217) a transfer before PROT P when the policy's
// data_protection is required.
func (s *Session) protGate(verb wire.Verb) bool {
	t := s.cfg.TLS
	if t == nil || t.DataProtection != policy.ProtRequired || verb.Transfer == wire.NoData {
		return true
	}
	s.mu.Lock()
	prot := s.tls.clientProt
	s.mu.Unlock()
	if prot {
		return true
	}
	s.refuse("transfer before PROT P (data_protection: required)",
		wire.NewReply(wire.CodeProtRequired, "Data connections must be protected: send PROT P first."), "command", verb.Name)
	return false
}
