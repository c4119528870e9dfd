package config

import (
	"errors"
	"io/fs"
	"testing"
)

// testScript is the callbacks file the test configurations name as "policy.star".
const testScript = `
def check_cwd(command, param, session):
    return accept()

def greeting(command, code, text, session):
    return change(220, "hello")

def no_exe(transfer):
    if transfer.extension == "exe":
        return reject(550, "no executables")
    return ACCEPT

def mask(data, transfer):
    return data.replace("secret", "XXXXXX")

def mask_packet(packet):
    return packet.data.replace("secret", "XXXXXX")
`

// files is a readFile over an in-memory set of files.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(s), nil
	}
}

// parseTest parses src as "ftpgate.yaml" with "policy.star" holding testScript.
func parseTest(t *testing.T, src string) (*Config, error) {
	t.Helper()
	cfg, err := Parse("ftpgate.yaml", []byte(src), files(map[string]string{"policy.star": testScript}))
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("Parse error %v is %T, not *Error", err, err)
		}
	}
	return cfg, err
}

// mustParse parses src and fails the test on an error.
func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := parseTest(t, src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}
