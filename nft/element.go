package nft

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Key lengths of the concatenated set keys: every field is padded to 4 bytes (a 32-bit
// register), so the 2-byte port takes 4 bytes.
const (
	keyLen4 = 4 + 4 + 4
	keyLen6 = 16 + 16 + 4
)

// normalize validates e and returns it with IPv4-mapped IPv6 addresses unmapped (a dual-stack
// listener reports IPv4 peers as ::ffff:a.b.c.d, but their packets match data4).
func (e Element) normalize() (Element, error) {
	e.Src, e.Dst = e.Src.Unmap(), e.Dst.Unmap()
	switch {
	case !e.Src.IsValid() || !e.Dst.IsValid():
		return e, fmt.Errorf("nft: element %v: invalid address", e)
	case e.Src.Is4() != e.Dst.Is4():
		return e, fmt.Errorf("nft: element %v: mixed address families", e)
	case e.Port == 0:
		return e, fmt.Errorf("nft: element %v: port 0", e)
	case e.Timeout < 0:
		return e, fmt.Errorf("nft: element %v: negative timeout", e)
	case e.Timeout > 0 && e.Timeout < time.Millisecond:
		return e, fmt.Errorf("nft: element %v: timeout below 1ms", e)
	}
	e.Src, e.Dst = e.Src.WithZone(""), e.Dst.WithZone("")
	e.Comment = cutComment(e.Comment)
	return e, nil
}

// MaxComment is the longest element comment kept: nft's own limit for comments
// (NFT_USERDATA_MAXLEN is 256 bytes for all of an element's user data).
const MaxComment = 128

// cutComment cuts c to MaxComment bytes without splitting a UTF-8 sequence, and replaces
// the double quotes nft cannot print inside a comment.
func cutComment(c string) string {
	c = strings.ReplaceAll(c, `"`, "'")
	if len(c) <= MaxComment {
		return c
	}
	c = c[:MaxComment]
	for len(c) > 0 && !utf8.ValidString(c) {
		c = c[:len(c)-1]
	}
	return c
}

// setName is the set that holds e (e normalized).
func (e Element) setName() string {
	if e.Src.Is4() {
		return SetData4
	}
	return SetData6
}

// key encodes e (normalized) as the concatenated set key: src . dst . port, the port big
// endian followed by two zero bytes of padding.
func (e Element) key() []byte {
	src, dst := e.Src.AsSlice(), e.Dst.AsSlice()
	k := make([]byte, 0, keyLen6)
	k = append(k, src...)
	k = append(k, dst...)
	k = binary.BigEndian.AppendUint16(k, e.Port)
	return append(k, 0, 0)
}

// errKeyLen reports a set key of unexpected length read back from the kernel.
var errKeyLen = errors.New("nft: unexpected set key length")

// elementFromKey decodes a concatenated set key written by key.
func elementFromKey(k []byte) (Element, error) {
	var alen int
	switch len(k) {
	case keyLen4:
		alen = 4
	case keyLen6:
		alen = 16
	default:
		return Element{}, fmt.Errorf("%w: %d", errKeyLen, len(k))
	}
	src, _ := netip.AddrFromSlice(k[:alen])
	dst, _ := netip.AddrFromSlice(k[alen : 2*alen])
	return Element{Src: src, Dst: dst, Port: binary.BigEndian.Uint16(k[2*alen:])}, nil
}

// String formats e as its nft set element text, e.g. "198.51.100.2 . 203.0.113.2 . 40001";
// a non-zero Timeout is appended as " timeout 30s" and a comment as ` comment "session 12 PASV"`.
func (e Element) String() string {
	s := fmt.Sprintf("%s . %s . %d", e.Src, e.Dst, e.Port)
	if e.Timeout > 0 {
		s += " timeout " + formatDuration(e.Timeout)
	}
	if e.Comment != "" {
		s += fmt.Sprintf(" comment %q", e.Comment)
	}
	return s
}

// compareElements orders elements IPv4 first, then by source, destination and port.
func compareElements(a, b Element) int {
	if c := a.Src.Compare(b.Src); c != 0 {
		return c
	}
	if c := a.Dst.Compare(b.Dst); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}
