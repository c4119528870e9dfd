package config

import (
	"os"
	"testing"
)

// FuzzParse: any configuration text gives a configuration or an error, never a panic; a
// parsed configuration's services all have a policy.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../deploy/ftpgate.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("version: 1\nservices:\n  - name: a\n    policy: readonly\n"))
	f.Add([]byte("version: 1\nservices:\n  - {name: a, policy: p, server_ports: [\"2000-2100\"]}\npolicies:\n  p:\n    base: readwrite\n    commands: {STOR: reject, \"*\": {action: reject, dry_run: true}}\n    answers: {Null220: {action: change, code: 220, text: hi}}\n    data_mode: active\n"))
	f.Add([]byte("version: 1\nservices: [{name: a, policy: p}]\npolicies: {p: {tls: {verify: pin, pins: [\"sha256/AAAA\"]}}}\n"))
	noFiles := func(string) ([]byte, error) { return nil, os.ErrNotExist }
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, noFiles)
		if err != nil {
			return
		}
		for _, s := range c.Services {
			if s.Policy == nil {
				t.Fatalf("service %q without a policy", s.Name)
			}
		}
	})
}
