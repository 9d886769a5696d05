package xcap

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// lockout counts failed logins per key (a source address or an account)
// over a sliding window; a key at the limit is locked until its oldest
// failure leaves the window. It mirrors the SIP server's lockout
// (sip/limits.go) and should be shared with it under internal/.
type lockout struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time
}

func newLockout(limit, max int, window time.Duration, now func() time.Time) *lockout {
	return &lockout{limit: limit, max: max, window: window, now: now, failures: make(map[string][]time.Time)}
}

// locked reports whether any of keys is locked out, and for how long.
func (l *lockout) locked(keys ...string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if fs := l.recent(k, now); len(fs) >= l.limit {
			return fs[0].Add(l.window).Sub(now), true
		}
	}
	return 0, false
}

// fail records one failure for each key. At most max keys are tracked:
// past that, keys without recent failures go first, then any.
func (l *lockout) fail(keys ...string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) >= l.max {
		for k := range l.failures {
			if len(l.recent(k, now)) == 0 || len(l.failures) >= l.max {
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

// lockedError is an authentication refused because its source or account
// failed too often: 429 with Retry-After.
type lockedError struct{ wait time.Duration }

func (e *lockedError) Error() string { return fmt.Sprintf("xcap: locked out for %s", e.wait) }

func (e *lockedError) write(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(e.wait/time.Second)+1))
	http.Error(w, "too many failed logins", http.StatusTooManyRequests)
}

// sourceKey is the lockout key of a request's source address.
func sourceKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}
