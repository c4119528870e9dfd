package config

import (
	"encoding/hex"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ftpgate/ftpgate/pktfilter"
)

// packetFilter decodes a policy's packet_filter: mapping into s.
//
//	packet_filter:
//	  scope: data                 # data (default): the transfer's direction once known; both
//	  patterns:
//	    - EICAR-STANDARD-ANTIVIRUS-TEST-FILE
//	    - {name: pe-header, hex: "4d5a9000"}
//	    - {name: secret, text: "CONFIDENTIAL"}
//	  max_size: 100MiB            # stop a transfer beyond this
//	  max_rate: 10MiB             # bytes per second
//	  callback: packet_verdict    # a function of the script: fn(packet)
//	  queue_bypass: false         # true: packets pass when ftpgate does not read the queue
//	  timeout: 200ms              # the longest a packet waits for its verdict
func (b *builder) packetFilter(n *yaml.Node, path string, s *pktfilter.Settings) error {
	if n == nil {
		return nil
	}
	f, err := b.fields(n, path, "scope", "patterns", "max_size", "max_rate", "callback", "queue_bypass", "timeout")
	if err != nil {
		return err
	}
	*s = pktfilter.Settings{Enabled: true}
	if err := enum(b, f, path, "scope", &s.Scope, pktfilter.Scopes()); err != nil {
		return err
	}
	if v, ok := f["patterns"]; ok {
		if s.Patterns, err = b.patterns(v, join(path, "patterns")); err != nil {
			return err
		}
	}
	if err := b.packetCaps(f, path, s); err != nil {
		return err
	}
	if err := b.packetCallback(f, path, s); err != nil {
		return err
	}
	if len(s.Patterns) == 0 && s.MaxSize == 0 && s.MaxRate == 0 && s.Callback == nil {
		return b.errAt(n, path, "filters nothing: give patterns, max_size, max_rate or a callback")
	}
	s.Compile()
	return nil
}

// packetCallback decodes callback and queue_bypass.
func (b *builder) packetCallback(f map[string]*yaml.Node, path string, s *pktfilter.Settings) error {
	var err error
	if v, ok := f["callback"]; ok {
		fn, err := b.nonEmpty(v, join(path, "callback"))
		if err != nil {
			return err
		}
		if err := b.checkCallback(fn, v, join(path, "callback")); err != nil {
			return err
		}
		if s.Callback, err = b.prog.PacketHook("", fn); err != nil {
			return b.errAt(v, join(path, "callback"), "%v", err)
		}
	}
	if v, ok := f["queue_bypass"]; ok {
		if s.Bypass, err = b.boolean(v, join(path, "queue_bypass")); err != nil {
			return err
		}
	}
	return nil
}

// packetCaps decodes max_size, max_rate and timeout.
func (b *builder) packetCaps(f map[string]*yaml.Node, path string, s *pktfilter.Settings) error {
	var err error
	if v, ok := f["max_size"]; ok {
		if s.MaxSize, err = b.size(v, join(path, "max_size")); err != nil {
			return err
		}
	}
	if v, ok := f["max_rate"]; ok {
		if s.MaxRate, err = b.size(v, join(path, "max_rate")); err != nil {
			return err
		}
		if s.MaxRate < 1024 {
			return b.errAt(v, join(path, "max_rate"), "at least 1KiB (bytes per second)")
		}
	}
	if v, ok := f["timeout"]; ok {
		if s.Timeout, err = b.duration(v, join(path, "timeout")); err != nil {
			return err
		}
		if s.Timeout > 10e9 {
			return b.errAt(v, join(path, "timeout"), "at most 10s: a packet waits this long in the queue")
		}
	}
	return nil
}

// patterns decodes the byte patterns: a string (its bytes, named after it), or a mapping
// with text: or hex: and an optional name:.
func (b *builder) patterns(n *yaml.Node, path string) ([]pktfilter.Pattern, error) {
	items, err := b.list(n, path)
	if err != nil {
		return nil, err
	}
	if len(items) > pktfilter.MaxPatterns {
		return nil, b.errAt(n, path, "%d patterns, at most %d", len(items), pktfilter.MaxPatterns)
	}
	var out []pktfilter.Pattern
	for i, it := range items {
		p, err := b.pattern(it, index(path, i))
		if err != nil {
			return nil, err
		}
		if len(p.Bytes) == 0 || len(p.Bytes) > pktfilter.MaxPatternLen {
			return nil, b.errAt(it, index(path, i), "a pattern has 1 to %d bytes, not %d", pktfilter.MaxPatternLen, len(p.Bytes))
		}
		out = append(out, p)
	}
	return out, nil
}

// pattern decodes one pattern.
func (b *builder) pattern(n *yaml.Node, path string) (pktfilter.Pattern, error) {
	if resolve(n).Kind == yaml.ScalarNode {
		s, err := b.str(n, path)
		if err != nil {
			return pktfilter.Pattern{}, err
		}
		return pktfilter.Pattern{Name: patternName(s), Bytes: []byte(s)}, nil
	}
	f, err := b.fields(n, path, "name", "text", "hex")
	if err != nil {
		return pktfilter.Pattern{}, err
	}
	text, hasText := f["text"]
	hx, hasHex := f["hex"]
	if hasText == hasHex {
		return pktfilter.Pattern{}, b.errAt(n, path, "needs exactly one of text, hex")
	}
	var p pktfilter.Pattern
	if hasText {
		s, err := b.str(text, join(path, "text"))
		if err != nil {
			return p, err
		}
		p = pktfilter.Pattern{Name: patternName(s), Bytes: []byte(s)}
	} else {
		s, err := b.str(hx, join(path, "hex"))
		if err != nil {
			return p, err
		}
		raw, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			return p, b.errAt(hx, join(path, "hex"), "not hexadecimal bytes: %v", err)
		}
		p = pktfilter.Pattern{Name: "hex:" + patternName(hex.EncodeToString(raw)), Bytes: raw}
	}
	if v, ok := f["name"]; ok {
		if p.Name, err = b.nonEmpty(v, join(path, "name")); err != nil {
			return p, err
		}
	}
	return p, nil
}

// patternName names a pattern after its text, cut to 40 bytes.
func patternName(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s…", s[:40])
	}
	return s
}

// describePackets says what a policy's packet filter does, for ftpgate check.
func describePackets(s pktfilter.Settings) string {
	s = s.WithDefaults()
	names := make([]string, len(s.Patterns))
	for i, p := range s.Patterns {
		names[i] = fmt.Sprintf("%q", p.Name)
	}
	cb := "none"
	if s.Callback != nil {
		cb = s.Callback.Name()
	}
	fail := "closed"
	if s.Bypass {
		fail = "open (queue_bypass)"
	}
	return fmt.Sprintf("scope %s, patterns [%s], max_size %d, max_rate %d/s, callback %s, fail %s, timeout %s",
		s.Scope, strings.Join(names, ", "), s.MaxSize, s.MaxRate, cb, fail, s.Timeout)
}
