package policy

import "strings"

// answerRow lists the answer codes valid for one verb, as a space-separated string.
type answerRow struct {
	verb  string
	codes string
}

// zorpAnswers are the answer codes Zorp's AbstractFtpProxy.loadAnswers accepts, per verb.
// Two Zorp entries are kept out: FEAT 221 (a slip for 211, added below), and the wildcard
// entries "*421" and "*500", which answerTable adds itself.
func zorpAnswers() []answerRow {
	return []answerRow{
		{NullVerb, "120 220"},
		{"ABOR", "225 226 501 502"},
		{"ACCT", "202 230 501 503 530"},
		{"ALLO", "200 202 501 504 530"},
		{"APPE", "110 125 150 226 250 425 426 450 451 452 501 502 530 532 534 535 550 551 552 553"},
		{"AUTH", "234 334 431 501 502 504 534"},
		{"CDUP", "200 250 501 502 530 550"},
		{"CWD", "250 501 502 530 550"},
		{"DELE", "250 450 501 502 530 550"},
		{"EPRT", "200 501 522"},
		{"EPSV", "229 501"},
		{"FEAT", "502"},
		{"HELP", "211 214 501 502"},
		{"LIST", "125 150 226 250 425 426 450 451 501 502 530 534 535"},
		{"MDTM", "213 501 550"},
		{"MKD", "257 501 502 530 550"},
		{"MLST", "250 425 426 450 451 501 502 530 534 535 550"},
		{"MLSD", "125 150 226 250 425 426 450 451 501 502 530 534 535"},
		{"MODE", "200 501 504 530"},
		{"NLST", "125 150 226 250 425 426 450 451 501 502 530 534 535 550"},
		{"NOOP", "200"},
		{"PASS", "202 230 332 501 503 530"},
		{"PASV", "227 501 502 530"},
		{"PBSZ", "200 501 503 530"},
		{"PORT", "200 501 530"},
		{"PROT", "200 431 501 503 504 530 534 536"},
		{"PWD", "257 501 502 550"},
		{"QUIT", "221"},
		{"REIN", "120 220 502"},
		{"REST", "350 501 502 530"},
		{"RETR", "110 125 150 226 250 425 426 450 451 452 501 530 532 534 535 550 553"},
		{"RMD", "250 501 502 530 550"},
		{"RNFR", "350 450 501 502 530 550"},
		{"RNTO", "250 501 502 530 532 553"},
		{"SITE", "200 202 501 530"},
		{"SIZE", "213 550"},
		{"SMNT", "202 250 501 502 530 550"},
		{"STAT", "211 212 213 450 501 502 530"},
		{"STOR", "110 125 150 226 250 425 426 450 451 452 501 530 532 534 535 550 551 552 553"},
		{"STOU", "110 125 150 226 250 425 426 450 451 452 501 530 532 534 535 551 552 553"},
		{"STRU", "200 501 504 530"},
		{"SYST", "215 501 502"},
		{"TYPE", "200 501 504 530"},
		{"USER", "230 232 331 332 336 501 530"},
	}
}

// rfcAnswers are the codes ftpgate adds where Zorp's table lacks them, each from the RFC
// that defines the command (or its reply list).
func rfcAnswers() []answerRow {
	return []answerRow{
		{NullVerb, "421"},                   // RFC 959: the greeting may be 421 (service not available).
		{"RNTO", "503"},                     // RFC 959: RNTO without RNFR.
		{"FEAT", "211"},                     // RFC 2389: the feature list.
		{"OPTS", "200 451 501 502"},         // RFC 2389: OPTS replies (502: not implemented).
		{"EPRT", "502 530"},                 // RFC 2428 with RFC 959's PORT replies.
		{"EPSV", "502 522 530"},             // RFC 2428: 522 names the supported protocols.
		{"SIZE", "501 502 504"},             // RFC 3659 (SIZE).
		{"MDTM", "502 504"},                 // RFC 3659 (MDTM).
		{"MLSD", "550"},                     // RFC 3659: no such directory.
		{"RETR", "554"},                     // RFC 3659 (REST): invalid REST parameter.
		{"STOR", "554"},                     // RFC 3659 (REST).
		{"APPE", "554"},                     // RFC 3659 (REST).
		{"LANG", "200 501 502 504"},         // RFC 2640.
		{"HOST", "220 501 502 504 530"},     // RFC 7151.
		{"SITE", "214 250 500 502 504 550"}, // RFC 959: SITE HELP's 214; what servers answer their subcommands.
		{"CLNT", "200 500 502"},             // common practice.
		{"MFMT", "213 500 501 502 550"},     // draft-somers-ftp-mfxx.
		{"MFCT", "213 500 501 502 550"},     // draft-somers-ftp-mfxx.
		{"MFF", "213 500 501 502 504 550"},  // draft-somers-ftp-mfxx.
		{"PRET", "200 500 501 502 503 550"}, // common practice (distributed servers).
		{"AVBL", "213 500 501 502 550"},     // draft-peterson-streamlined-ftp-command-extensions.
		{"HASH", "213 500 501 502 504 550"}, // draft-bryan-ftp-hash.
		{"XPWD", "257 500 501 502 550"},     // RFC 775: as PWD.
		{"XCWD", "250 500 501 502 530 550"}, // RFC 775: as CWD.
		{"XCUP", "200 250 500 501 502 530 550"},
		{"XMKD", "257 500 501 502 530 550"},
		{"XRMD", "250 500 501 502 530 550"},
	}
}

// answerTable is the answer table every preset but allow carries: "*" accepting every
// well-formed answer (a gateway must not change what the server says unless the operator
// asks it to), "*421" ending the session (the server is closing it), and per command the
// codes Zorp's loadAnswers and the RFCs allow, listed so that `ftpgate check` shows them and
// an operator can be strict with answers: {"*": reject}.
func answerTable() map[string]Action {
	t := map[string]Action{
		Wildcard:         {Kind: Accept},
		Wildcard + "421": {Kind: Abort},
		Wildcard + "500": {Kind: Accept},
	}
	for _, rows := range [][]answerRow{zorpAnswers(), rfcAnswers()} {
		for _, r := range rows {
			for _, c := range strings.Fields(r.codes) {
				t[r.verb+c] = Action{Kind: Accept}
			}
		}
	}
	return t
}
