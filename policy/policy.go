package policy

import (
	"crypto/tls"
	"crypto/x509"
	"maps"
	"net/netip"
	"slices"

	"github.com/ftpgate/ftpgate/ftptls"
	"github.com/ftpgate/ftpgate/inspect"
	"github.com/ftpgate/ftpgate/pktfilter"
)

// Policy is one named policy. It is built once (from a preset and the configuration),
// validated, and then shared read-only by every session that uses it; a reload builds new
// Policy values, so running sessions keep theirs.
type Policy struct {
	// Name names the policy in logs and in `ftpgate check`.
	Name string
	// Commands maps an upper-case verb, or "*" for any other verb, to its action.
	Commands map[string]Action
	// Answers maps a key to an action. Keys are the verb followed by a code or a code prefix
	// ("PWD200", "PWD20", "PWD2", "PWD"), or "*" followed by one ("*200" … "*"). The
	// pseudo-verb "Null" stands for the greeting. Lookup precedence: the exact key, then
	// the verb with ever shorter code prefixes, then the wildcard likewise (Zorp's order).
	Answers map[string]Action
	// PermitUnknownCommand lets verbs that no table entry and no RFC names pass; when false
	// they are answered 500 and the session goes on.
	PermitUnknownCommand bool
	// PermitEmptyCommand lets an empty command line pass; when false it gets 500.
	PermitEmptyCommand bool
	// DryRun ACCEPTS everything the tables would refuse, change or abort, and marks the
	// verdict WouldRefuse (Zorp's learning mode): a policy tried on live traffic before it
	// is enforced. The name says it: nothing is refused.
	DryRun bool
	// Limits bound lines, user names and passwords.
	Limits Limits
	// Features edits the FEAT reply.
	Features Features
	// Callbacks runs the callbacks that Callback actions name; nil when the policy has none.
	Callbacks Callbacks
	// SiteCommands, when not empty, lists the only SITE subcommands (the first word of the
	// argument, compared case-insensitively) an accepted SITE may carry; any other is
	// refused with 504. Empty: any subcommand.
	SiteCommands []string
	// AllowedUsers, when not empty, lists the only user names a USER command may carry
	// (compared exactly, case included); any other name is refused with 530. The anonymous
	// preset sets it to "anonymous" and "ftp". It is a policy decision, so dry_run on the
	// USER entry or on the policy turns the refusal into a would-refuse.
	AllowedUsers []string
	// Data sets up data channels.
	Data DataPolicy
	// Inspect says what the transfers' bytes meet: hooks per direction (observe, inspect),
	// the failure policy, the spool.
	Inspect inspect.Settings
	// Packets is the packet filter of the kernel path's data channels (packet_filter:).
	Packets pktfilter.Settings
	// TLS says where ftpgate decodes FTPS.
	TLS TLSPolicy
}

// TLSPolicy says, per leg, whether the control and data connections are TLS, and with which
// certificates and trust. Empty fields take their defaults (WithDefaults).
type TLSPolicy struct {
	// Client is the client leg: optional (AUTH TLS accepted), required (nothing but AUTH,
	// FEAT, HELP, QUIT and NOOP before it) or refused (AUTH answered 534). Default: optional
	// when Certs is set, refused otherwise.
	Client TLSLeg
	// Server is the server leg: optional (default: TLS when the client asks for it; a
	// server's refusal reaches the client), required (always, even for a plain client:
	// protect the WAN side; a server without TLS ends the session), refused (always plain)
	// or bridge (as optional, but when the server refuses, the client's leg is TLS anyway
	// and the server leg plain).
	Server TLSLeg
	// DataProtection: sticky (default: no PROT C after PROT P), required (PROT P before
	// any transfer, never PROT C) or any.
	DataProtection DataProtection
	// ClientDataReuse: required (default: a client's TLS data connection must resume its
	// control connection's TLS session) or optional.
	ClientDataReuse DataReuse
	// Certs gives the certificates ftpgate presents to clients; nil means none.
	Certs CertSource
	// Verify is how the server's certificate is checked.
	Verify TLSVerify
	// AllowCCC lets a client clear its control connection (RFC 4217 CCC; default: refused).
	AllowCCC bool
	// CertFile, KeyFile (static) and MintCA, MintKey (minting) name where Certs came from.
	CertFile, KeyFile, MintCA, MintKey string
}

// CertSource gives the certificate to present to a client that connected to server, with the
// SNI it sent and the upstream server's certificate when known. ftptls.Certs is one.
type CertSource interface {
	ForServer(server netip.Addr, sni string, upstream *x509.Certificate) (*tls.Certificate, error)
}

// TLSVerify says how the server's certificate is checked: ftptls's own settings (mode
// system, ca, pin or insecure; the CA file; the pins), so they are written down once.
type TLSVerify = ftptls.Verify

// DataPolicy says how data channels are set up. Empty fields take their defaults
// (WithDefaults).
type DataPolicy struct {
	// Mode is Zorp's data_mode: keep (default: as the client does), passive (always
	// PASV/EPSV toward the server) or active (always PORT/EPRT toward the server).
	Mode DataMode
	// PasvAddress is what happens to a 227 naming an address other than the server's own:
	// enforce (default: refused) or rewrite (replaced by the server's own address).
	PasvAddress PasvAddress
	// ServerAddress is the source of the server-side leg: the gateway's default, the
	// client's own address, the box's own address toward the server (found by a route
	// lookup) or an address of the box's own, which overrides the lookup.
	ServerAddress ServerAddress
	// ActiveSourcePort is the source port of active-mode data connections toward the client:
	// random (default), 20, or control-1 (the server's control port minus one).
	ActiveSourcePort SourcePort
	// Path is the data_path: auto (default: in the kernel when the channel needs nothing
	// from userspace), kernel or proxy.
	Path DataPath
	// Hash is the transfer_hash: sha256 (default: channels through ftpgate record the
	// SHA-256 of what they carried) or none.
	Hash TransferHash
}

// Clone returns a deep copy of p: its tables, limits, features and allowed users can be
// changed without touching p. Callbacks is shared, not copied.
func (p *Policy) Clone() *Policy {
	c := *p
	c.Commands = maps.Clone(p.Commands)
	c.Answers = maps.Clone(p.Answers)
	c.Features.Remove = slices.Clone(p.Features.Remove)
	c.Features.Add = slices.Clone(p.Features.Add)
	c.AllowedUsers = slices.Clone(p.AllowedUsers)
	c.SiteCommands = slices.Clone(p.SiteCommands)
	c.TLS.Verify.Pins = slices.Clone(p.TLS.Verify.Pins)
	return &c
}

// Limits are the size and character limits a policy enforces. Zero means the default
// (see WithDefaults). Lengths are counted in bytes, as on the wire.
type Limits struct {
	MaxLineLength     int    // default 2048
	MaxUsernameLength int    // default 32
	MaxPasswordLength int    // default 64
	MaxReplyLines     int    // default 1000
	UsernameChars     string // the characters a user name may contain; default ASCII letters, digits and "._@-+"
}

// Features edits the features a 211 FEAT reply lists.
type Features struct {
	// Remove names features ftpgate must not advertise (e.g. "MODE Z"); they are also
	// refused in OPTS. Matched case-insensitively on the feature's first word, or on the
	// whole line when the entry has a space.
	Remove []string
	// Add lists features ftpgate provides itself, appended when missing.
	Add []string
}
