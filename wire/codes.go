package wire

// Reply codes ftpgate gives or acts on (RFC 959 §4.2.2 and its extensions). Replies that
// ftpgate builds itself use these names, never bare numbers.
const (
	CodeRestartMarker     = 110 // restart marker reply
	CodeOpening           = 150 // file status okay; about to open data connection
	CodeOK                = 200 // command okay
	CodeNotImplementedOK  = 202 // command not implemented, superfluous at this site
	CodeFeatures          = 211 // system status, or FEAT's feature list
	CodeReady             = 220 // service ready (the greeting; REIN's answer)
	CodeClosing           = 221 // service closing control connection (QUIT)
	CodeAbortOK           = 225 // data connection open; no transfer in progress (after ABOR)
	CodeTransferOK        = 226 // closing data connection; requested action successful
	CodePassive           = 227 // entering passive mode (h1,h2,h3,h4,p1,p2)
	CodeExtendedPassive   = 229 // entering extended passive mode (|||port|)
	CodeLoggedIn          = 230 // user logged in
	CodeSecurityLoggedIn  = 232 // user logged in, authorized by security data exchange
	CodeAuthOK            = 234 // security data exchange complete (AUTH TLS)
	CodeNeedPassword      = 331 // user name okay, need password
	CodeNeedAccount       = 332 // need account for login
	CodeNeedSecurity      = 336 // username okay, need password; challenge is …
	CodePending           = 350 // requested file action pending further information
	CodeUnavailable       = 421 // service not available, closing control connection
	CodeCannotOpenData    = 425 // can't open data connection
	CodeTransferAborted   = 426 // connection closed; transfer aborted
	CodeUntrustedTLS      = 431 // need some unavailable resource to process security
	CodeSyntaxError       = 500 // syntax error, command unrecognized
	CodeArgSyntax         = 501 // syntax error in parameters or arguments
	CodeNotImplemented    = 502 // command not implemented
	CodeBadSequence       = 503 // bad sequence of commands
	CodeNotForParameter   = 504 // command not implemented for that parameter
	CodeProtRequired      = 521 // data connection cannot be opened with this PROT setting (RFC 4217)
	CodeNoProtocol        = 522 // network protocol not supported (RFC 2428)
	CodeDataTLSRefused    = 522 // the data connection's TLS was refused (vsftpd: session reuse required)
	CodeNotLoggedIn       = 530 // not logged in
	CodeCCCRefused        = 533 // command protection level denied for policy reasons
	CodeTLSRefused        = 534 // request denied for policy reasons
	CodeProtNotSupported  = 536 // requested PROT level not supported by mechanism
	CodeFileUnavailable   = 550 // requested action not taken; file unavailable
	CodeFileNameForbidden = 553 // requested action not taken; file name not allowed
)

// Class returns the first digit of a reply code: 1 preliminary, 2 completion, 3 intermediate,
// 4 transient failure, 5 permanent failure.
func Class(code int) int { return code / 100 }

// Positive reports whether code is a positive completion reply (2xx).
func Positive(code int) bool { return Class(code) == 2 }
