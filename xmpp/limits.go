package xmpp

import (
	"net/netip"
	"sync"
	"time"
)

// connLimiter counts concurrent connections per address.
type connLimiter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int
}

func newConnLimiter(max int) *connLimiter {
	return &connLimiter{max: max, n: make(map[netip.Addr]int)}
}

// acquire counts a connection from a; false when a is at its cap.
func (l *connLimiter) acquire(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[a] >= l.max {
		return false
	}
	l.n[a]++
	return true
}

func (l *connLimiter) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[a] <= 1 {
		delete(l.n, a)
		return
	}
	l.n[a]--
}

// failureLimiter counts failed logins per key (an address or an account)
// over a sliding minute. Memory is bounded: at most maxKeys keys are kept,
// and expired entries are swept as the map grows.
type failureLimiter struct {
	perMinute int
	now       func() time.Time
	mu        sync.Mutex
	fails     map[string][]time.Time
}

const maxLimiterKeys = 100000

func newFailureLimiter(perMinute int, now func() time.Time) *failureLimiter {
	return &failureLimiter{perMinute: perMinute, now: now, fails: make(map[string][]time.Time)}
}

// blocked reports whether key has used up its failures for the minute.
func (l *failureLimiter) blocked(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key)) >= l.perMinute
}

// fail records a failed login for each key.
func (l *failureLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) >= maxLimiterKeys {
		l.sweep()
	}
	for _, k := range keys {
		if k == "" || (len(l.fails) >= maxLimiterKeys && l.fails[k] == nil) {
			continue
		}
		l.fails[k] = append(l.recent(k), l.now())
	}
}

// recent drops a key's failures older than a minute; call with mu held.
func (l *failureLimiter) recent(key string) []time.Time {
	list := l.fails[key]
	cut := l.now().Add(-time.Minute)
	i := 0
	for i < len(list) && list[i].Before(cut) {
		i++
	}
	if i == len(list) {
		delete(l.fails, key)
		return nil
	}
	list = list[i:]
	if len(list) > l.perMinute {
		list = list[len(list)-l.perMinute:]
	}
	l.fails[key] = list
	return list
}

func (l *failureLimiter) sweep() {
	for k := range l.fails {
		l.recent(k)
	}
}
