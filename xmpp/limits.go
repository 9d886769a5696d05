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

// maxLimiterKeys bounds the failed-login table (internal/lockout).
const maxLimiterKeys = 100000

// loginTrust is how long an address that authenticated as an account stays
// exempt from that account's lock-out, so that failures provoked by others
// cannot lock a user's own clients out (internal/lockout).
const loginTrust = 24 * time.Hour
