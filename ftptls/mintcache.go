package ftptls

import (
	"container/list"
	"crypto/tls"
)

// DefaultCacheSize is the number of minted certificates a [Minter] keeps.
const DefaultCacheSize = 1024

// mintCache is a bounded least-recently-used map from a name key to a minted
// certificate. It is not safe for concurrent use; the Minter locks around it.
type mintCache struct {
	max   int
	order *list.List // of *mintEntry, most recently used first
	byKey map[string]*list.Element
}

// mintEntry is one cached certificate.
type mintEntry struct {
	key  string
	cert *tls.Certificate
}

// newMintCache returns an empty cache holding at most size entries (at least one).
func newMintCache(size int) *mintCache {
	return &mintCache{max: max(size, 1), order: list.New(), byKey: make(map[string]*list.Element)}
}

// get returns the certificate cached under key and marks it recently used.
func (c *mintCache) get(key string) (*tls.Certificate, bool) {
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*mintEntry).cert, true
}

// put stores cert under key, replacing any previous entry, and evicts the least
// recently used entries beyond the bound.
func (c *mintCache) put(key string, cert *tls.Certificate) {
	if el, ok := c.byKey[key]; ok {
		el.Value.(*mintEntry).cert = cert
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&mintEntry{key: key, cert: cert})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byKey, oldest.Value.(*mintEntry).key)
	}
}

// len returns the number of cached certificates.
func (c *mintCache) len() int { return c.order.Len() }
