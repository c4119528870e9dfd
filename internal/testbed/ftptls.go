package testbed

import (
	_ "embed" // the FTPS client script
	"fmt"
	"os"
	"path/filepath"
)

// FTPTLSScriptPath is the FTPS client script's path relative to the module
// root. The script (Python ftplib.FTP_TLS) can resume the control
// connection's TLS session on data connections (--reuse), which plain
// ftplib does not do and vsftpd's require_ssl_reuse=YES demands; run it with
// --help for its options. Code outside this package should use
// Topology.FTPTLSScript, which does not depend on the working directory.
const FTPTLSScriptPath = "internal/testbed/testdata/ftptls.py"

//go:embed testdata/ftptls.py
var ftptlsScript []byte

// FTPTLSScript writes the FTPS client script (see FTPTLSScriptPath) to
// tp.Dir/ftptls.py and returns that absolute path, for
// `python3 PATH --host ... ops...` in the client namespace.
func (tp *Topology) FTPTLSScript() (string, error) {
	path := filepath.Join(tp.Dir, "ftptls.py")
	if err := os.WriteFile(path, ftptlsScript, 0o755); err != nil {
		return "", fmt.Errorf("testbed: ftptls script: %w", err)
	}
	return path, nil
}
