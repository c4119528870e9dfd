package nft

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"custom", customConfig, true},
		{"name with digits", Config{Table: "ftpgate-2.test_x"}, true},
		{"name starts with digit", Config{Table: "2ftp"}, false},
		{"name with space", Config{Table: "ftp gate"}, false},
		{"name with brace", Config{Table: "ftp}"}, false},
		{"name too long", Config{Table: strings.Repeat("a", 256)}, false},
		{"control port 0", Config{ControlPorts: []uint16{21, 0}}, false},
		{"timeout below 1ms", Config{Timeout: time.Microsecond}, false},
		{"negative timeout", Config{Timeout: -time.Second}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
		_, nerr := NewNetlink(tt.cfg)
		if (nerr == nil) != tt.ok {
			t.Errorf("%s: NewNetlink error = %v, want ok=%v", tt.name, nerr, tt.ok)
		}
	}
}

func TestControlPortsSortedUnique(t *testing.T) {
	got := Config{ControlPorts: []uint16{990, 21, 990, 21}}.controlPorts()
	if want := []uint16{21, 990}; !slices.Equal(got, want) {
		t.Errorf("controlPorts = %v, want %v", got, want)
	}
	if got := (Config{}).controlPorts(); !slices.Equal(got, []uint16{DefaultControlPort}) {
		t.Errorf("default controlPorts = %v", got)
	}
}
