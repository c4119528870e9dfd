package policy

// KnownVerb reports whether verb (upper case) is a command some RFC or common practice
// defines: RFC 959 and its RFC 775 X-variants, RFC 2228 (security), RFC 2389 (FEAT, OPTS),
// RFC 2428 (EPRT, EPSV), RFC 2640 (LANG), RFC 3659 (MDTM, SIZE, MLST, MLSD), RFC 7151
// (HOST) and a few widespread extensions (CLNT, AVBL, MFMT, MFCT, MFF, MACB). A verb that is
// not known and has no exact entry in the command table is "unknown" in the sense of
// Policy.PermitUnknownCommand.
func KnownVerb(verb string) bool {
	switch verb {
	// RFC 959.
	case "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "REIN", "QUIT",
		"PORT", "PASV", "TYPE", "STRU", "MODE",
		"RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR",
		"DELE", "RMD", "MKD", "PWD", "LIST", "NLST", "SITE", "SYST", "STAT", "HELP", "NOOP":
		return true
	// RFC 775 (and RFC 1123): the X-variants.
	case "XCWD", "XCUP", "XMKD", "XRMD", "XPWD":
		return true
	// RFC 2228, RFC 2389, RFC 2428, RFC 2640, RFC 3659, RFC 7151.
	case "AUTH", "ADAT", "PROT", "PBSZ", "CCC", "MIC", "CONF", "ENC",
		"FEAT", "OPTS", "EPRT", "EPSV", "LANG", "MDTM", "SIZE", "MLST", "MLSD", "HOST":
		return true
	// Common extensions.
	case "CLNT", "AVBL", "MFMT", "MFCT", "MFF", "MACB":
		return true
	}
	return false
}

// AllowedBeforeLogin reports whether verb may pass before the server has accepted a
// login: the login commands (USER PASS ACCT, and HOST, which RFC 7151 puts before USER),
// the security commands of RFC 2228 (AUTH ADAT MIC CONF ENC PBSZ PROT), the feature
// commands (FEAT OPTS, and LANG, RFC 2640), and QUIT and NOOP. Anything else gets
// "530 Please login with USER and PASS.".
func AllowedBeforeLogin(verb string) bool {
	switch verb {
	case "USER", "PASS", "ACCT", "HOST",
		"AUTH", "ADAT", "MIC", "CONF", "ENC", "PBSZ", "PROT",
		"FEAT", "OPTS", "LANG",
		"QUIT", "NOOP":
		return true
	}
	return false
}

// fileVerb reports whether verb acts on a file or directory; a policy refusal without a
// code answers such verbs 550 (permission denied) and any other verb 500.
func fileVerb(verb string) bool {
	switch verb {
	case "RETR", "STOR", "STOU", "APPE", "DELE", "RNFR", "RNTO",
		"MKD", "XMKD", "RMD", "XRMD", "CWD", "XCWD", "CDUP", "XCUP", "SMNT",
		"LIST", "NLST", "MLSD", "MLST", "SIZE", "MDTM", "MFMT", "MFCT", "MFF":
		return true
	}
	return false
}

// restartVerb reports whether verb is a transfer that a preceding REST applies to.
func restartVerb(verb string) bool {
	return verb == "RETR" || verb == "STOR" || verb == "APPE"
}

// keepsRestart reports whether verb may come between REST and its transfer without
// cancelling it: the data connection set-up and transfer parameters, which clients
// commonly send after REST.
func keepsRestart(verb string) bool {
	switch verb {
	case "PORT", "PASV", "EPRT", "EPSV", "TYPE", "MODE", "STRU", "NOOP":
		return true
	}
	return false
}
