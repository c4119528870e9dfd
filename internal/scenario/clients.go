package scenario

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ftpgate/ftpgate/internal/testbed"
)

// Mode is an FTP data connection mode.
type Mode string

// The four data modes.
const (
	PASV Mode = "PASV"
	EPSV Mode = "EPSV"
	PORT Mode = "PORT"
	EPRT Mode = "EPRT"
)

// Modes lists the modes usable on a control connection of the given family: PASV and PORT
// carry IPv4 addresses only (RFC 2428).
func Modes(ipv6 bool) []Mode {
	if ipv6 {
		return []Mode{EPSV, EPRT}
	}
	return []Mode{PASV, EPSV, PORT, EPRT}
}

// URL is the ftp:// URL of path on the server at addr with srv's credentials.
func URL(srv *testbed.FTPServer, addr netip.Addr, path string) string {
	host := addr.String()
	if addr.Is6() {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("ftp://%s:%s@%s/%s", srv.User, srv.Pass, host, strings.TrimPrefix(path, "/"))
}

// curlModeArgs are the curl flags that force mode.
func curlModeArgs(m Mode) []string {
	switch m {
	case PASV:
		return []string{"--ftp-pasv", "--disable-epsv"}
	case EPSV:
		return []string{"--ftp-pasv"}
	case PORT:
		return []string{"--ftp-port", "-", "--disable-eprt"}
	default:
		return []string{"--ftp-port", "-"}
	}
}

// Curl runs curl in the client namespace in mode m with extra arguments (a URL, -o, -T …).
// It returns curl's verbose transcript (stderr) and checks that m was really used.
func Curl(ctx context.Context, tp *testbed.Topology, m Mode, extra ...string) (string, error) {
	args := append([]string{"-sS", "-v", "-g", "--max-time", "120", "--connect-timeout", "10"}, curlModeArgs(m)...)
	args = append(args, extra...)
	_, stderr, err := tp.Exec(ctx, tp.Client, "curl", args...)
	if err != nil {
		return stderr, fmt.Errorf("scenario: curl %s %v: %w", m, extra, err)
	}
	if !strings.Contains(stderr, "> "+string(m)) {
		return stderr, fmt.Errorf("scenario: curl did not use %s:\n%s", m, stderr)
	}
	return stderr, nil
}

// Lftp runs lftp in the client namespace against server addr in mode m (EPRT on IPv4 is not
// possible with lftp), with script the lftp commands after login. It returns lftp's debug
// transcript and checks that m was really used.
func Lftp(ctx context.Context, tp *testbed.Topology, srv *testbed.FTPServer, addr netip.Addr, m Mode, script string) (string, error) {
	settings := []string{
		"set ftp:ssl-allow no", "set net:max-retries 1", "set net:timeout 20", "set cmd:fail-exit yes",
	}
	switch m {
	case PASV:
		settings = append(settings, "set ftp:passive-mode on", "set ftp:prefer-epsv no")
	case EPSV:
		settings = append(settings, "set ftp:passive-mode on", "set ftp:prefer-epsv yes")
	case PORT, EPRT:
		settings = append(settings, "set ftp:passive-mode off")
	}
	host := addr.String()
	all := strings.Join(settings, "; ") + "; " + script + "; bye"
	out, stderr, err := tp.Exec(ctx, tp.Client, "lftp", "-d", "-u", srv.User+","+srv.Pass, "-e", all, host)
	transcript := out + stderr
	if err != nil {
		return transcript, fmt.Errorf("scenario: lftp %s: %w", m, err)
	}
	if !strings.Contains(transcript, "---> "+string(m)) {
		return transcript, fmt.Errorf("scenario: lftp did not use %s:\n%s", m, transcript)
	}
	return transcript, nil
}
