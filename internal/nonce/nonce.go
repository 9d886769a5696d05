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
	"hash"
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

	// macs holds HMAC-SHA-256 states under key, reset before each use:
	// hmac.New costs two SHA-256 states and their buffers, on every
	// request that carries credentials.
	macs sync.Pool

	mu     sync.Mutex
	issued map[string]state
	// order holds the nonces in issue order from order[head] on, so that
	// Issue forgets the oldest without looking at the others: a sweep of
	// the whole map on each Issue once it was full made every challenge
	// cost O(max) (85% of the server's CPU under sipp's REGISTER and
	// MESSAGE load, each call a fresh challenge). Entries Use already
	// deleted are skipped when they come up.
	order []issuedAt
	head  int
}

// issuedAt is one nonce of the issue order.
type issuedAt struct {
	nonce string
	at    time.Time
}

// nonceLen is the length of a nonce: base64 (unpadded) of 36 bytes.
const nonceLen = 48

type state struct {
	issued time.Time
	nc     int
}

// New returns a store whose nonces live ttl, with at most max outstanding;
// now is the clock (time.Now in production).
func New(ttl time.Duration, max int, now func() time.Time) *Store {
	s := &Store{ttl: ttl, max: max, now: now, issued: make(map[string]state)}
	_, _ = rand.Read(s.key[:])
	s.macs.New = func() any { return &macState{h: hmac.New(sha256.New, s.key[:])} }
	return s
}

// macState is a pooled HMAC with buffers for its input and sum: buffers
// on the caller's stack would escape to the heap through hash.Hash.
type macState struct {
	h   hash.Hash
	in  [20]byte
	sum [sha256.Size]byte
}

// mac writes HMAC-SHA-256(key, msg) into sum.
func (s *Store) mac(msg *[20]byte, sum *[sha256.Size]byte) {
	m := s.macs.Get().(*macState)
	m.h.Reset()
	m.in = *msg
	m.h.Write(m.in[:])
	m.h.Sum(m.sum[:0])
	*sum = m.sum
	s.macs.Put(m)
}

// Issue returns a fresh nonce.
func (s *Store) Issue() string {
	now := s.now()
	var raw [8 + 12 + 16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(raw[8:20])
	var sum [sha256.Size]byte
	s.mac((*[20]byte)(raw[:20]), &sum)
	copy(raw[20:], sum[:])
	n := base64.RawURLEncoding.EncodeToString(raw[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forget the oldest: every expired one, and more while the store is full.
	for s.head < len(s.order) {
		o := s.order[s.head]
		if len(s.issued) < s.max && now.Sub(o.at) < s.ttl {
			break
		}
		if st, ok := s.issued[o.nonce]; ok && st.issued.Equal(o.at) {
			delete(s.issued, o.nonce)
		}
		s.order[s.head] = issuedAt{}
		s.head++
	}
	if s.head > len(s.order)/2 { // reuse the slice's front half
		s.order = s.order[:copy(s.order, s.order[s.head:])]
		s.head = 0
	}
	s.issued[n] = state{issued: now}
	s.order = append(s.order, issuedAt{nonce: n, at: now})
	return n
}

// Use checks a nonce and its count: forged nonces (ErrForged) and replayed
// counts (ErrReplay) are refused, expired or forgotten nonces of ours are
// stale (ErrStale).
func (s *Store) Use(nonce string, nc int) error {
	if len(nonce) != nonceLen {
		return ErrForged
	}
	// Decoded from a copy on the stack: DecodeString allocates twice.
	var src [nonceLen]byte
	var raw [36]byte
	copy(src[:], nonce)
	if n, err := base64.RawURLEncoding.Decode(raw[:], src[:]); err != nil || n != len(raw) {
		return ErrForged
	}
	var sum [sha256.Size]byte
	s.mac((*[20]byte)(raw[:20]), &sum)
	if !hmac.Equal(sum[:16], raw[20:]) {
		return ErrForged
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.issued[nonce]
	if !ok {
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
	s.issued[nonce] = st
	return nil
}
