package sip

import (
	"context"
	"sync"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// credCache keeps the digest credentials of recently authenticated
// accounts for a short time, so that a UA sending many requests (each
// answered with credentials, RFC 3261 §22.3) costs one store read per
// TTL, not one per request. Only found accounts are kept; bounded by
// maxTracked entries.
type credCache struct {
	ttl time.Duration // ≤ 0: no cache
	now func() time.Time

	mu sync.Mutex
	m  map[crosstalk.Address]cachedCreds
}

type cachedCreds struct {
	creds   crosstalk.Credentials
	fetched time.Time
}

func newCredCache(ttl time.Duration, now func() time.Time) *credCache {
	return &credCache{ttl: ttl, now: now, m: make(map[crosstalk.Address]cachedCreds)}
}

// get returns an account's credentials, from the cache unless fresh is
// set or the entry is older than the TTL.
func (c *credCache) get(ctx context.Context, store crosstalk.Accounts, addr crosstalk.Address, fresh bool) (crosstalk.Credentials, error) {
	now := c.now()
	if c.ttl > 0 && !fresh {
		c.mu.Lock()
		e, ok := c.m[addr]
		c.mu.Unlock()
		if ok && now.Sub(e.fetched) < c.ttl {
			return e.creds, nil
		}
	}
	a, err := store.GetAccount(ctx, addr)
	if err != nil {
		c.forget(addr)
		return crosstalk.Credentials{}, err
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if len(c.m) >= maxTracked {
			for k, e := range c.m {
				if now.Sub(e.fetched) >= c.ttl {
					delete(c.m, k)
				}
			}
			if len(c.m) >= maxTracked {
				clear(c.m)
			}
		}
		c.m[addr] = cachedCreds{creds: a.Credentials, fetched: now}
		c.mu.Unlock()
	}
	return a.Credentials, nil
}

// forget drops an account's cached credentials.
func (c *credCache) forget(addr crosstalk.Address) {
	c.mu.Lock()
	delete(c.m, addr)
	c.mu.Unlock()
}
