package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ftpgate/ftpgate/ftptls"
)

// The settings of a policy are typed enumerations, validated once when the configuration
// loads; each type lists its values (the default first) and WithDefaults fills them in, so a
// default is written in one place only.

// DataMode is Zorp's data_mode: how ftpgate sets up the server's side of a data channel.
type DataMode string

// The data modes.
const (
	DataKeep    DataMode = "keep"    // as the client does (default)
	DataPassive DataMode = "passive" // always PASV/EPSV toward the server
	DataActive  DataMode = "active"  // always PORT/EPRT toward the server
)

// DataModes lists the data modes, the default first.
func DataModes() []DataMode { return []DataMode{DataKeep, DataPassive, DataActive} }

// DataPath is the path a plain data channel's bytes take.
type DataPath string

// The data paths.
const (
	// PathAuto (default): the kernel path when the channel needs nothing from userspace
	// (plain on both legs, no mode or address translation, no inspection), else the proxy.
	PathAuto DataPath = "auto"
	// PathKernel: the kernel path whenever it is possible at all (plain, nothing translated),
	// inspection or not.
	PathKernel DataPath = "kernel"
	// PathProxy: always through ftpgate (the only path with one-way enforcement and
	// inspection).
	PathProxy DataPath = "proxy"
)

// DataPaths lists the data paths, the default first.
func DataPaths() []DataPath { return []DataPath{PathAuto, PathKernel, PathProxy} }

// TransferHash says whether a data channel through ftpgate hashes what it carries.
type TransferHash string

// The transfer_hash settings.
const (
	// HashSHA256 (default): every channel through ftpgate (proxy and TLS paths) copies its
	// bytes through a SHA-256, and the transfer record has the digest. Kernel path channels
	// are never hashed: their bytes do not enter ftpgate.
	HashSHA256 TransferHash = "sha256"
	// HashNone: no digest; plain proxied channels are spliced in the kernel.
	HashNone TransferHash = "none"
)

// TransferHashes lists the transfer_hash settings, the default first.
func TransferHashes() []TransferHash { return []TransferHash{HashSHA256, HashNone} }

// PasvAddress is what happens to a 227 naming an address other than the server's own.
type PasvAddress string

// The pasv_address settings.
const (
	PasvEnforce PasvAddress = "enforce" // refused with 425 (default)
	PasvRewrite PasvAddress = "rewrite" // replaced by the server's own address (a server behind NAT)
)

// PasvAddresses lists the pasv_address settings, the default first.
func PasvAddresses() []PasvAddress { return []PasvAddress{PasvEnforce, PasvRewrite} }

// ServerSource is where connections toward the server come from.
type ServerSource string

// The server sources.
const (
	SourceDefault ServerSource = ""        // the gateway's default (-spoof)
	SourceClient  ServerSource = "client"  // the client's own address (spoofed)
	SourceBox     ServerSource = "box"     // the box's own address toward the server (route lookup)
	SourceAddress ServerSource = "address" // an address of the box's own, named explicitly
)

// ServerAddress is the server_address setting: a source, and for SourceAddress the address.
type ServerAddress struct {
	Source ServerSource
	Addr   netip.Addr
}

// ServerSources lists the words server_address takes besides an address.
func ServerSources() []ServerSource { return []ServerSource{SourceClient, SourceBox} }

// ParseServerAddress parses a server_address value: "client", "box" or an IP address.
func ParseServerAddress(s string) (ServerAddress, error) {
	if src := ServerSource(s); slices.Contains(ServerSources(), src) {
		return ServerAddress{Source: src}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return ServerAddress{Source: SourceAddress, Addr: a.Unmap()}, nil
	}
	return ServerAddress{}, fmt.Errorf("unknown value %q (%s)", s, joinValues(ServerSources()))
}

// String returns the setting as the configuration writes it; the default reads
// "gateway default (-spoof)".
func (a ServerAddress) String() string {
	switch a.Source {
	case SourceDefault:
		return "gateway default (-spoof)"
	case SourceAddress:
		return a.Addr.String()
	}
	return string(a.Source)
}

// SourcePort is the source port of active-mode data connections toward the client.
type SourcePort string

// The active_source_port settings.
const (
	PortRandom    SourcePort = "random"    // the kernel picks one (default)
	Port20        SourcePort = "20"        // the classic ftp-data port
	PortControlM1 SourcePort = "control-1" // the server's control port minus one
)

// SourcePorts lists the active_source_port settings, the default first.
func SourcePorts() []SourcePort { return []SourcePort{PortRandom, Port20, PortControlM1} }

// For returns the source port for a session whose control port is control (0: any).
func (p SourcePort) For(control uint16) uint16 {
	switch p {
	case Port20:
		return 20
	case PortControlM1:
		return control - 1
	}
	return 0
}

// TLSLeg is whether one leg of a session is TLS.
type TLSLeg string

// The TLS leg settings.
const (
	TLSOptional TLSLeg = "optional" // TLS when asked (client leg: AUTH TLS accepted)
	TLSRequired TLSLeg = "required" // always
	TLSRefused  TLSLeg = "refused"  // never
	// TLSBridge (server leg only): TLS when the client asks and the server offers it; when
	// the server refuses, the client's leg is still TLS, ended by ftpgate, and the server
	// leg stays plain. Without it a server's refusal reaches the client (no silent
	// downgrade).
	TLSBridge TLSLeg = "bridge"
)

// TLSLegs lists the client leg's TLS settings.
func TLSLegs() []TLSLeg { return []TLSLeg{TLSOptional, TLSRequired, TLSRefused} }

// ServerTLSLegs lists the server leg's TLS settings.
func ServerTLSLegs() []TLSLeg { return []TLSLeg{TLSOptional, TLSRequired, TLSRefused, TLSBridge} }

// DataProtection is what may happen to the client's data protection level (PROT).
type DataProtection string

// The data protection settings.
const (
	// ProtSticky (default): once the client asked for PROT P, PROT C is refused (534).
	ProtSticky DataProtection = "sticky"
	// ProtRequired: PROT C is always refused, and a transfer before PROT P gets 521.
	ProtRequired DataProtection = "required"
	// ProtAny: the client may switch protection off again (PROT C passes).
	ProtAny DataProtection = "any"
)

// DataProtections lists the data protection settings, the default first.
func DataProtections() []DataProtection { return []DataProtection{ProtSticky, ProtRequired, ProtAny} }

// DataReuse is whether a client's TLS data connection must resume its control connection's
// TLS session: the proof that the data connection comes from the same client program.
type DataReuse string

// The data reuse settings.
const (
	// ReuseRequired (default): a data connection that does not resume is refused (522).
	ReuseRequired DataReuse = "required"
	// ReuseOptional: a fresh TLS session is accepted (clients that cannot resume).
	ReuseOptional DataReuse = "optional"
)

// DataReuses lists the data reuse settings, the default first.
func DataReuses() []DataReuse { return []DataReuse{ReuseRequired, ReuseOptional} }

// VerifyModes lists the server verification modes, the default first.
func VerifyModes() []ftptls.VerifyMode {
	return []ftptls.VerifyMode{ftptls.ModeSystem, ftptls.ModeCA, ftptls.ModePin, ftptls.ModeInsecure}
}

// WithDefaults returns d with its empty settings set to their defaults.
func (d DataPolicy) WithDefaults() DataPolicy {
	d.Mode = or(d.Mode, DataKeep)
	d.Path = or(d.Path, PathAuto)
	d.PasvAddress = or(d.PasvAddress, PasvEnforce)
	d.ActiveSourcePort = or(d.ActiveSourcePort, PortRandom)
	d.Hash = or(d.Hash, HashSHA256)
	return d
}

// WithDefaults returns t with its empty settings set to their defaults: the client leg
// optional when there are certificates to present and refused otherwise, the server leg
// optional, data protection sticky, client data reuse required, and verification against
// the system roots.
func (t TLSPolicy) WithDefaults() TLSPolicy {
	if t.Client == "" {
		t.Client = TLSRefused
		if t.Certs != nil {
			t.Client = TLSOptional
		}
	}
	t.Server = or(t.Server, TLSOptional)
	t.DataProtection = or(t.DataProtection, ProtSticky)
	t.ClientDataReuse = or(t.ClientDataReuse, ReuseRequired)
	t.Verify.Mode = t.Verify.EffectiveMode()
	return t
}

// or returns v, or def when v is empty.
func or[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

// joinValues lists values for a message: "keep, passive, active".
func joinValues[T ~string](vs []T) string {
	s := make([]string, 0, len(vs))
	for _, v := range vs {
		if v != "" {
			s = append(s, string(v))
		}
	}
	return strings.Join(s, ", ")
}

// checkValue reports an error naming the setting when v is set and not one of set.
func checkValue[T ~string](name string, v T, set []T) error {
	if v != "" && !slices.Contains(set, v) {
		return fmt.Errorf("%s %q: want one of %s", name, v, joinValues(set))
	}
	return nil
}
