package sip

import (
	"sync"
	"time"
)

// maxTracked bounds the per-source and per-account state kept by the rate
// limiter and the lock-out, so that a flood of sources cannot grow memory
// without bound; beyond it the oldest-idle entries are dropped.
const maxTracked = 65536

// rateLimiter is a token bucket per source address.
type rateLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), now: now, buckets: make(map[string]*bucket)}
}

// allow takes a token for key; when none is left it reports how long until
// one is.
func (l *rateLimiter) allow(key string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

// prune drops buckets that have refilled; call with l.mu held.
func (l *rateLimiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxTracked {
		clear(l.buckets)
	}
}

// lockout counts failed logins per key (a source address or an account)
// over a sliding window; a key at the limit is locked until its oldest
// failure leaves the window.
type lockout struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time
}

func newLockout(limit int, window time.Duration, now func() time.Time) *lockout {
	return &lockout{limit: limit, window: window, now: now, failures: make(map[string][]time.Time)}
}

// locked reports whether any of keys is locked out, and for how long.
func (l *lockout) locked(keys ...string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		fs := l.recent(k, now)
		if len(fs) >= l.limit {
			return fs[0].Add(l.window).Sub(now), true
		}
	}
	return 0, false
}

// fail records one failure for each key.
func (l *lockout) fail(keys ...string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) >= maxTracked {
		for k := range l.failures {
			if len(l.recent(k, now)) == 0 {
				delete(l.failures, k)
			}
		}
	}
	for _, k := range keys {
		fs := append(l.recent(k, now), now)
		if len(fs) > l.limit {
			fs = fs[len(fs)-l.limit:]
		}
		l.failures[k] = fs
	}
}

// recent returns the failures of k inside the window; call with l.mu held.
func (l *lockout) recent(k string, now time.Time) []time.Time {
	fs := l.failures[k]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.window {
		i++
	}
	if i == len(fs) {
		delete(l.failures, k)
		return nil
	}
	fs = fs[i:]
	l.failures[k] = fs
	return fs
}
