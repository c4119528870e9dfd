package script

import (
	"net/netip"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ftpgate/ftpgate/policy"
)

// session returns the frozen struct a callback receives as its session argument.
func session(info policy.Info) *starlarkstruct.Struct {
	client, clientPort := endpoint(info.Client)
	server, serverPort := endpoint(info.Server)
	s := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"id":          starlark.MakeUint64(info.ID),
		"client":      starlark.String(client),
		"client_port": starlark.MakeInt(int(clientPort)),
		"server":      starlark.String(server),
		"server_port": starlark.MakeInt(int(serverPort)),
		"user":        starlark.String(info.User),
		"tls":         starlark.Bool(info.TLS),
	})
	s.Freeze()
	return s
}

// endpoint splits ap into its address as text ("" when unset; IPv4-mapped IPv6 addresses
// shown as IPv4) and its port.
func endpoint(ap netip.AddrPort) (string, uint16) {
	if !ap.Addr().IsValid() {
		return "", ap.Port()
	}
	return ap.Addr().Unmap().String(), ap.Port()
}
