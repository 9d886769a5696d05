package xcap

// HTTP digest authentication (RFC 7616) against the stored HA1 values.
//
// This mirrors the SIP server's verifier in sip/digest.go (same nonce
// design: self-verifying HMAC nonces with an expiry and a replay check on
// the nonce count; same constant-time check against HA1, never a
// password). It should move to a shared package under internal/ once both
// frontends are merged; until then the two must change together.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"

	"github.com/crosstalk-im/crosstalk"
)

var (
	errNonceStale  = errors.New("nonce stale")
	errNonceForged = errors.New("nonce not issued here")
	errNonceReplay = errors.New("nonce count replayed")
	// errNoCredentials reports a request without digest credentials for
	// the realm.
	errNoCredentials = errors.New("no digest credentials for the realm")
)

// nonceStore issues nonces that verify themselves (an HMAC over their issue
// time and randomness) and remembers the highest nonce-count seen for each,
// so that a replayed nc is refused (RFC 7616 §3.3, §5.3). It holds at most
// max nonces; beyond that the oldest are forgotten and their users retry
// with stale=true.
type nonceStore struct {
	ttl time.Duration
	max int
	now func() time.Time
	key [32]byte

	mu     sync.Mutex
	issued map[string]*nonceState
}

type nonceState struct {
	issued time.Time
	nc     int
}

func newNonceStore(ttl time.Duration, max int, now func() time.Time) *nonceStore {
	s := &nonceStore{ttl: ttl, max: max, now: now, issued: make(map[string]*nonceState)}
	_, _ = rand.Read(s.key[:])
	return s
}

// issue returns a fresh nonce.
func (s *nonceStore) issue() string {
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
	s.issued[n] = &nonceState{issued: now}
	return n
}

// use checks a nonce and its count: forged nonces and replayed counts are
// refused, expired or forgotten nonces of ours are stale.
func (s *nonceStore) use(nonce string, nc int) error {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 36 {
		return errNonceForged
	}
	m := hmac.New(sha256.New, s.key[:])
	m.Write(raw[:20])
	if !hmac.Equal(m.Sum(nil)[:16], raw[20:]) {
		return errNonceForged
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.issued[nonce]
	if st == nil {
		return errNonceStale
	}
	if now.Sub(st.issued) >= s.ttl {
		delete(s.issued, nonce)
		return errNonceStale
	}
	if nc <= st.nc {
		return errNonceReplay
	}
	st.nc = nc
	return nil
}

// authError is a failed authentication: answer 401 with a fresh challenge
// (stale when only the nonce was old).
type authError struct {
	stale bool
	err   error
}

func (e *authError) Error() string { return "xcap digest: " + e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// challenge writes a 401 with one challenge per algorithm, SHA-256 first
// (RFC 7616 §3.7: the preferred first), qop=auth.
func (h *Handler) challenge(w http.ResponseWriter, realm string, stale bool) {
	nonce := h.nonces.issue()
	for _, alg := range []string{"SHA-256", "MD5"} {
		c := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		w.Header().Add("WWW-Authenticate", c.String())
	}
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

// authenticate verifies the request's digest credentials for realm and
// returns the account. Unknown accounts verify against nothing and fail
// the same way as a wrong password.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, realm string) (crosstalk.Address, error) {
	src := sourceKey(r)
	if wait, locked := h.lockout.locked(src); locked {
		return crosstalk.Address{}, &lockedError{wait: wait}
	}
	var creds *digest.Credentials
	for _, v := range r.Header.Values("Authorization") {
		c, err := digest.ParseCredentials(v)
		if err == nil && c.Realm == realm {
			creds = c
			break
		}
	}
	if creds == nil {
		return crosstalk.Address{}, &authError{err: errNoCredentials}
	}
	addr, err := crosstalk.NewAddress(creds.Username, realm, "")
	if err != nil {
		h.lockout.fail(src)
		return crosstalk.Address{}, &authError{err: fmt.Errorf("username %q: %w", creds.Username, err)}
	}
	acct := "acct:" + addr.String()
	if wait, locked := h.lockout.locked(acct); locked {
		return crosstalk.Address{}, &lockedError{wait: wait}
	}
	// RFC 7616 §3.4.6: the digest must be for this request's URI.
	if creds.URI != r.RequestURI {
		return crosstalk.Address{}, &authError{err: fmt.Errorf("digest uri %q is not the request's: %w", creds.URI, crosstalk.ErrNotAuthorized)}
	}
	ok, err := h.verifyDigest(ctx, r.Method, addr, creds)
	if err != nil {
		return crosstalk.Address{}, err
	}
	if !ok {
		h.lockout.fail(src, acct)
		return crosstalk.Address{}, &authError{err: fmt.Errorf("digest for %s: %w", addr, crosstalk.ErrNotAuthorized)}
	}
	if err := h.nonces.use(creds.Nonce, creds.Nc); err != nil {
		stale := errors.Is(err, errNonceStale)
		if !stale {
			h.lockout.fail(src, acct)
		}
		return crosstalk.Address{}, &authError{stale: stale, err: err}
	}
	return addr, nil
}

// verifyDigest recomputes the response from the stored HA1 and compares it
// in constant time.
func (h *Handler) verifyDigest(ctx context.Context, method string, addr crosstalk.Address, creds *digest.Credentials) (bool, error) {
	if !strings.EqualFold(creds.QOP, "auth") || creds.Cnonce == "" || creds.Nc <= 0 || creds.Userhash {
		return false, nil
	}
	a, err := h.store.GetAccount(ctx, addr)
	if errors.Is(err, crosstalk.ErrNoSuchAccount) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("digest account %s: %w", addr, err)
	}
	var ha1 string
	switch strings.ToUpper(creds.Algorithm) {
	case "", "MD5":
		ha1 = a.Credentials.HA1MD5
	case "SHA-256":
		ha1 = a.Credentials.HA1SHA256
	}
	if ha1 == "" || a.Credentials.Realm != addr.Domain() {
		return false, nil
	}
	want, err := digest.Digest(&digest.Challenge{Realm: creds.Realm, Nonce: creds.Nonce, Algorithm: creds.Algorithm, QOP: []string{"auth"}},
		digest.Options{Method: method, URI: creds.URI, Username: creds.Username, A1: ha1, Cnonce: creds.Cnonce, Count: creds.Nc})
	if err != nil {
		return false, nil
	}
	return subtle.ConstantTimeCompare([]byte(want.Response), []byte(strings.ToLower(creds.Response))) == 1, nil
}
