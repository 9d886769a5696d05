package xcap

// HTTP digest authentication (RFC 7616) against the stored HA1 values.
//
// The nonces come from internal/nonce, shared with the SIP registrar and
// proxy (sip/digest.go); the check is constant-time against HA1, never a
// password.

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/icholy/digest"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/nonce"
)

// errNoCredentials reports a request without digest credentials for the
// realm.
var errNoCredentials = errors.New("no digest credentials for the realm")

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
	nonce := h.nonces.Issue()
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
	if wait, locked := h.lockout.SourceLocked(src); locked {
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
		h.lockout.Fail("", src)
		return crosstalk.Address{}, &authError{err: fmt.Errorf("username %q: %w", creds.Username, err)}
	}
	acct := addr.String()
	if wait, locked := h.lockout.AccountLocked(acct, src); locked {
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
		h.lockout.Fail(acct, src)
		return crosstalk.Address{}, &authError{err: fmt.Errorf("digest for %s: %w", addr, crosstalk.ErrNotAuthorized)}
	}
	if err := h.nonces.Use(creds.Nonce, creds.Nc); err != nil {
		stale := errors.Is(err, nonce.ErrStale)
		if !stale {
			h.lockout.Fail(acct, src)
		}
		return crosstalk.Address{}, &authError{stale: stale, err: err}
	}
	h.lockout.Succeed(acct, src)
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
