package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// startVsftpdImplicit starts one more vsftpd process per address family
// with implicit_ssl=YES on ImplicitPort, sharing the user, roots and
// passive port range of the explicit listeners, and appends the processes
// to srv.Procs. Its logs are vsftpd-implicit4.log / xferlog-implicit4.log
// (and 6) in vdir. It returns once both answer a TLS handshake with a 220.
func (tp *Topology) startVsftpdImplicit(ctx context.Context, srv *FTPServer, etc, vdir, empty string, o VsftpdOptions) error {
	for _, addr := range []netip.Addr{tp.ServerV4, tp.ServerV6} {
		fam := "4"
		if addr.Is6() {
			fam = "6"
		}
		conf := vsftpdConfig(addr, empty, vdir, "-implicit"+fam, srv.AnonRoot)
		conf = strings.Replace(conf, "listen_port=21\n", "listen_port="+strconv.Itoa(ImplicitPort)+"\n", 1)
		if o.PasvAddress.IsValid() && addr.Is4() {
			conf += "pasv_address=" + o.PasvAddress.Unmap().String() + "\n"
		}
		conf += VsftpdTLSConfig(o.TLS, true)
		path := filepath.Join(vdir, "vsftpd-implicit"+fam+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			return fmt.Errorf("implicit: %w", err)
		}
		p, err := tp.startWithUser(etc, "vsftpd", path)
		if err != nil {
			return fmt.Errorf("implicit: %w", err)
		}
		srv.Procs = append(srv.Procs, p)
		if err := tp.waitBannerTLS(ctx, p, netip.AddrPortFrom(addr, ImplicitPort)); err != nil {
			return fmt.Errorf("implicit: %w", err)
		}
	}
	return nil
}
