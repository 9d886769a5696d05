// Package nonce issues and checks HTTP/SIP digest nonces (RFC 7616,
// RFC 8760) for the SIP registrar and proxy and for XCAP: nonces that verify
// themselves (an HMAC over their issue time and randomness), expire, and
// remember the highest nonce-count seen, so a replayed count is refused
// (RFC 7616 §3.3, §5.3).
//
//	s := nonce.New(5*time.Minute, 100000, time.Now)
//	n := s.Issue()                 // put it in the challenge
//	err := s.Use(creds.Nonce, nc)  // ErrStale: challenge again with stale=true
package nonce

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// Errors of Use.
var (
	// ErrStale reports an expired or forgotten nonce of ours: challenge
	// again with stale=true.
	ErrStale = errors.New("nonce stale")
	// ErrForged reports a nonce this store did not issue.
	ErrForged = errors.New("nonce not issued here")
	// ErrReplay reports a nonce-count not above the last one accepted.
	ErrReplay = errors.New("nonce count replayed")
)

// Store issues and checks nonces. It holds at most max outstanding nonces;
// beyond that the oldest are forgotten and their users retry with
// stale=true. It is safe for concurrent use.
type Store struct {
	ttl time.Duration
	max int
	now func() time.Time
	key [32]byte

	mu     sync.Mutex
	issued map[string]*state
}

type state struct {
	issued time.Time
	nc     int
}

// New returns a store whose nonces live ttl, with at most max outstanding;
// now is the clock (time.Now in production).
func New(ttl time.Duration, max int, now func() time.Time) *Store {
	s := &Store{ttl: ttl, max: max, now: now, issued: make(map[string]*state)}
	_, _ = rand.Read(s.key[:])
	return s
}

// Issue returns a fresh nonce.
func (s *Store) Issue() string {
	now := s.now()
	var raw [8 + 12 + 16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(raw[8:20])
	m := hmac.New(sha256.New, s.key[:])
	m.Write(raw[:20])
	copy(raw[20:], m.Sum(nil))
	n := base64.RawURLEncoding.EncodeToString(raw[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.issued) >= s.max {
		for k, st := range s.issued {
			if now.Sub(st.issued) >= s.ttl || len(s.issued) >= s.max {
				delete(s.issued, k)
			}
		}
	}
	s.issued[n] = &state{issued: now}
	return n
}

// Use checks a nonce and its count: forged nonces (ErrForged) and replayed
// counts (ErrReplay) are refused, expired or forgotten nonces of ours are
// stale (ErrStale).
func (s *Store) Use(nonce string, nc int) error {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 36 {
		return ErrForged
	}
	m := hmac.New(sha256.New, s.key[:])
	m.Write(raw[:20])
	if !hmac.Equal(m.Sum(nil)[:16], raw[20:]) {
		return ErrForged
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.issued[nonce]
	if st == nil {
		return ErrStale
	}
	if now.Sub(st.issued) >= s.ttl {
		delete(s.issued, nonce)
		return ErrStale
	}
	if nc <= st.nc {
		return ErrReplay
	}
	st.nc = nc
	return nil
}
