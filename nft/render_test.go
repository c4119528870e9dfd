package nft

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

const goldenDefault = `table inet ftpgate {
	set data4 {
		type ipv4_addr . ipv4_addr . inet_service
		flags timeout
		timeout 30s
	}

	set data6 {
		type ipv6_addr . ipv6_addr . inet_service
		flags timeout
		timeout 30s
	}

	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ct mark & 0xff000000 == 0x46000000 accept
		meta l4proto tcp socket transparent 1 meta mark set 0x1 accept
		tcp dport 21 tproxy to :2121 meta mark set 0x1 accept
		meta nfproto ipv4 ip saddr . ip daddr . tcp dport @data4 tproxy ip to :2120 meta mark set 0x1 accept
		meta nfproto ipv6 ip6 saddr . ip6 daddr . tcp dport @data6 tproxy ip6 to :2120 meta mark set 0x1 accept
	}

	chain guard {
		type filter hook prerouting priority raw; policy accept;
		tcp sport 0 drop
		tcp dport 0 drop
	}

	chain cut {
		type filter hook forward priority -5; policy accept;
		meta l4proto tcp ct mark & 0xff000000 == 0x47000000 reject with tcp reset
	}
}
`

const goldenCustom = `table inet gw_test {
	set data4 {
		type ipv4_addr . ipv4_addr . inet_service
		flags timeout
		timeout 1m30s
	}

	set data6 {
		type ipv6_addr . ipv6_addr . inet_service
		flags timeout
		timeout 1m30s
	}

	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ct mark & 0xff000000 == 0x46000000 accept
		meta l4proto tcp socket transparent 1 meta mark set 0x2a accept
		tcp dport { 21, 990, 2021 } tproxy to :9021 meta mark set 0x2a accept
		meta nfproto ipv4 ip saddr . ip daddr . tcp dport @data4 tproxy ip to :9020 meta mark set 0x2a accept
		meta nfproto ipv6 ip6 saddr . ip6 daddr . tcp dport @data6 tproxy ip6 to :9020 meta mark set 0x2a accept
	}

	chain guard {
		type filter hook prerouting priority raw; policy accept;
		tcp sport 0 drop
		tcp dport 0 drop
	}

	chain cut {
		type filter hook forward priority -5; policy accept;
		meta l4proto tcp ct mark & 0xff000000 == 0x47000000 reject with tcp reset
	}
}
`

// customConfig has several (unsorted, duplicated) control ports and every other field set.
var customConfig = Config{
	Table:         "gw_test",
	ControlPorts:  []uint16{2021, 21, 990, 21},
	ControlListen: 9021,
	DataListen:    9020,
	Mark:          42,
	Timeout:       90 * time.Second,
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"defaults", Config{}, goldenDefault},
		{"explicit defaults", Config{Table: "ftpgate", ControlPorts: []uint16{21}, ControlListen: 2121,
			DataListen: 2120, Mark: 1, Timeout: 30 * time.Second}, goldenDefault},
		{"custom", customConfig, goldenCustom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Render(tt.cfg); got != tt.want {
				t.Errorf("Render mismatch\ngot:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{time.Millisecond, "1ms"},
		{1500 * time.Microsecond, "1ms"},
		{time.Second, "1s"},
		{30 * time.Second, "30s"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Millisecond, "1d2h3m4s5ms"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestRenderLoadable checks that nft accepts the rendered text in check mode (-c), and that
// once loaded, the set elements Fake.Text writes are accepted too.
func TestRenderLoadable(t *testing.T) {
	ns := newTestNS(t)
	f := NewFake(customConfig)
	mustSetup(t, f)
	for _, e := range sampleElements() {
		mustAdd(t, f, e)
	}
	for name, text := range map[string]string{
		"default": Render(Config{}), "custom": Render(customConfig), "fake": f.Text(),
	} {
		path := filepath.Join(t.TempDir(), name+".nft")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := ns.nftErr(t, "-c", "-f", path); err != nil {
			t.Errorf("%s: nft -c -f rejected the text: %v\n%s\n%s", name, err, out, text)
		}
	}
	// Check mode changed nothing.
	if out := ns.nft(t, "list", "tables"); out != "" {
		t.Errorf("nft -c left tables behind: %q", out)
	}
}
