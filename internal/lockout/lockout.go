// Package lockout counts failed logins per source address and per account
// over a sliding window and says when either is locked out. The XMPP SASL
// negotiator, the SIP digest authenticator and the XCAP server share it, so
// all three frontends follow one policy.
//
// A per-account limit alone lets anyone lock a user out by failing against
// her account on purpose. So a source that recently logged in to an account
// with the right credentials is remembered as trusted for that account
// (OWASP's "device cookie" idea, keyed by address here): the account's
// lock-out does not apply to it, while its own per-source limit still does.
package lockout

import (
	"sync"
	"time"
)

// Config sets the limits of a Lockout.
type Config struct {
	// Limit is how many failures a key may have inside Window; at Limit the
	// key is locked until its oldest failure leaves the window.
	Limit int
	// Window is the sliding window failures are counted over.
	Window time.Duration
	// MaxKeys bounds the memory: at most this many keys are tracked, and
	// keys without recent failures go first when the table is full.
	MaxKeys int
	// TrustFor is how long a source that logged in to an account stays
	// exempt from that account's lock-out. Zero turns trust off.
	TrustFor time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Lockout tracks failed logins. It is safe for concurrent use.
type Lockout struct {
	cfg Config

	mu       sync.Mutex
	failures map[string][]time.Time
	trusted  map[trustKey]time.Time
}

type trustKey struct{ account, source string }

// Sources and accounts share the failure table under distinct prefixes, so
// an account named like an address is a different key.
const (
	sourcePrefix  = "s:"
	accountPrefix = "a:"
)

// New returns a Lockout with cfg's limits; a non-positive MaxKeys means
// 100,000.
func New(cfg Config) *Lockout {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100000
	}
	return &Lockout{cfg: cfg, failures: make(map[string][]time.Time), trusted: make(map[trustKey]time.Time)}
}

// SourceLocked reports whether source is locked out, and for how long.
func (l *Lockout) SourceLocked(source string) (time.Duration, bool) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lockedLocked(sourcePrefix+source, now)
}

// AccountLocked reports whether account is locked out for a login from
// source, and for how long. A source trusted for the account (see Succeed)
// is never locked out by the account's failures.
func (l *Lockout) AccountLocked(account, source string) (time.Duration, bool) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if until, ok := l.trusted[trustKey{account, source}]; ok {
		if now.Before(until) {
			return 0, false
		}
		delete(l.trusted, trustKey{account, source})
	}
	return l.lockedLocked(accountPrefix+account, now)
}

// Fail records one failed login from source against account; an empty
// account (the name could not even be parsed) counts for the source only.
func (l *Lockout) Fail(account, source string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) >= l.cfg.MaxKeys {
		for k := range l.failures {
			if len(l.recent(k, now)) == 0 || len(l.failures) >= l.cfg.MaxKeys {
				delete(l.failures, k)
			}
		}
	}
	for _, k := range [2]string{sourcePrefix + source, accountPrefix + account} {
		if k == sourcePrefix || k == accountPrefix {
			continue
		}
		fs := append(l.recent(k, now), now)
		if len(fs) > l.cfg.Limit {
			fs = fs[len(fs)-l.cfg.Limit:]
		}
		l.failures[k] = fs
	}
}

// Succeed records a successful login from source to account: the source
// is trusted for the account for TrustFor.
func (l *Lockout) Succeed(account, source string) {
	if l.cfg.TrustFor <= 0 || account == "" || source == "" {
		return
	}
	now := l.cfg.Now()
	k := trustKey{account, source}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until, ok := l.trusted[k]; ok && until.Sub(now) > l.cfg.TrustFor/2 {
		return // fresh enough: the common case of a phone re-registering
	}
	if len(l.trusted) >= l.cfg.MaxKeys {
		for k, until := range l.trusted {
			if !now.Before(until) || len(l.trusted) >= l.cfg.MaxKeys {
				delete(l.trusted, k)
			}
		}
	}
	l.trusted[k] = now.Add(l.cfg.TrustFor)
}

// lockedLocked reports whether k is at its limit; call with l.mu held.
func (l *Lockout) lockedLocked(k string, now time.Time) (time.Duration, bool) {
	if fs := l.recent(k, now); len(fs) >= l.cfg.Limit {
		return fs[0].Add(l.cfg.Window).Sub(now), true
	}
	return 0, false
}

// recent returns the failures of k inside the window; call with l.mu held.
func (l *Lockout) recent(k string, now time.Time) []time.Time {
	fs := l.failures[k]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.cfg.Window {
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
