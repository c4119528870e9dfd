package config

import (
	"testing"

	"github.com/ftpgate/ftpgate/policy"
)

// TestValidateTLS checks the engine's own TLS checks, which catch policies built in code
// (the configuration reports these earlier, at their keys).
func TestValidateTLS(t *testing.T) {
	tests := []struct {
		name string
		tls  policy.TLSPolicy
		want string // "" for valid
	}{
		{"empty", policy.TLSPolicy{}, ""},
		{"defaults", policy.TLSPolicy{Client: "refused", Server: "optional", Verify: policy.TLSVerify{Mode: "system"}}, ""},
		{"client", policy.TLSPolicy{Client: "maybe"}, `tls.client "maybe": want one of optional, required, refused`},
		{"server", policy.TLSPolicy{Server: "always"}, `tls.server "always": want one of optional, required, refused, bridge`},
		{"verify", policy.TLSPolicy{Verify: policy.TLSVerify{Mode: "none"}}, `tls.verify "none": want one of system, ca, pin, insecure`},
		{"client without certificates", policy.TLSPolicy{Client: "required"}, `tls.client "required": no certificates to present (Certs is nil)`},
		{"ca without file", policy.TLSPolicy{Verify: policy.TLSVerify{Mode: "ca"}}, `tls.verify "ca": no CA file`},
		{"pin without pins", policy.TLSPolicy{Verify: policy.TLSVerify{Mode: "pin"}}, `tls.verify "pin": no pins`},
		{"bridge on the client leg", policy.TLSPolicy{Client: "bridge"}, `tls.client "bridge": want one of optional, required, refused`},
		{"bad data protection", policy.TLSPolicy{DataProtection: "off"}, `tls.data_protection "off": want one of sticky, required, any`},
		{"bad reuse", policy.TLSPolicy{ClientDataReuse: "never"}, `tls.client_data_reuse "never": want one of required, optional`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Preset("deny")
			if err != nil {
				t.Fatal(err)
			}
			p.Name, p.TLS = "p", tt.tls
			err = p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || err.Error() != `policy: invalid policy "p": `+tt.want):
				t.Errorf("Validate = %v, want %q", err, `policy: invalid policy "p": `+tt.want)
			}
		})
	}
}
