package sip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/internal/nonce"
)

// maxNonces bounds the outstanding nonces; beyond it the oldest are
// forgotten (their users get stale=true and retry).
const maxNonces = 100000

// authHeaders names the challenge and credentials headers: WWW-Authenticate
// and Authorization for the registrar (401), Proxy-Authenticate and
// Proxy-Authorization for the proxy and MESSAGE (407).
type authHeaders struct {
	code                   int
	reason                 string
	challenge, credentials string
}

var (
	wwwAuth   = authHeaders{401, "Unauthorized", "WWW-Authenticate", "Authorization"}
	proxyAuth = authHeaders{407, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization"}
)

// errNoCredentials reports a request without credentials for our realm.
var errNoCredentials = errors.New("no credentials for this realm")

// challenge builds the 401/407 error with one challenge per configured
// algorithm, in order (RFC 8760 §2.4: the preferred one first, SHA-256 by
// default), qop=auth.
func (s *Server) challenge(h authHeaders, realm string, stale bool, cause error) *StatusError {
	nonce := s.nonces.Issue()
	hdrs := make([]sipmsg.Header, 0, len(s.cfg.DigestAlgorithms))
	for _, alg := range s.cfg.DigestAlgorithms {
		hdrs = append(hdrs, sipmsg.NewHeader(h.challenge, challengeValue(realm, nonce, alg, stale)))
	}
	return &StatusError{Code: h.code, Reason: h.reason, Headers: hdrs, Err: cause}
}

// challengeValue writes a digest challenge (RFC 7616 §3.3) with
// qop="auth", as icholy/digest's Challenge.String does, in one string:
// that went through a parameter slice and a builder per challenge, for
// half of every REGISTER. realm (a served domain) and nonce (base64url)
// need no quoted-pair escapes.
func challengeValue(realm, nonce, alg string, stale bool) string {
	staleParam := ""
	if stale {
		staleParam = ", stale=true"
	}
	return `Digest realm="` + realm + `", nonce="` + nonce + `"` + staleParam + ", algorithm=" + alg + `, qop="auth"`
}

// authenticate verifies the request's digest credentials for realm against
// the stored HA1 (never a password) and returns the authenticated account.
// Failures come back as 401/407 with a fresh challenge (stale=true for an
// old nonce with a right response), or 403 once the source or the account
// is locked out (limits.login_failures_per_minute).
func (s *Server) authenticate(ctx context.Context, req *sipmsg.Request, h authHeaders, realm string) (crosstalk.Address, error) {
	src := sourceIP(req)
	if wait, locked := s.lockout.SourceLocked(src); locked {
		return crosstalk.Address{}, lockedOut(wait)
	}
	var creds credentials
	found := false
	for _, hdr := range req.Headers() {
		if !strings.EqualFold(hdr.Name(), h.credentials) {
			continue
		}
		c, err := parseCredentials(hdr.Value())
		if err == nil && c.Realm == realm {
			creds, found = c, true
			break
		}
	}
	if !found {
		return crosstalk.Address{}, s.challenge(h, realm, false, errNoCredentials)
	}
	addr, err := crosstalk.NewAddress(creds.Username, realm, "")
	if err != nil {
		s.lockout.Fail("", src)
		return crosstalk.Address{}, s.challenge(h, realm, false, fmt.Errorf("digest username %q: %w", creds.Username, err))
	}
	acct := addr.String()
	if wait, locked := s.lockout.AccountLocked(acct, src); locked {
		return crosstalk.Address{}, lockedOut(wait)
	}
	ok, err := s.verifyDigest(ctx, req, addr, &creds)
	if err != nil {
		return crosstalk.Address{}, err
	}
	if !ok {
		s.lockout.Fail(acct, src)
		return crosstalk.Address{}, s.challenge(h, realm, false, fmt.Errorf("digest for %s: %w", addr, crosstalk.ErrNotAuthorized))
	}
	switch err := s.nonces.Use(creds.Nonce, creds.Nc); {
	case errors.Is(err, nonce.ErrStale):
		return crosstalk.Address{}, s.challenge(h, realm, true, err)
	case err != nil:
		s.lockout.Fail(acct, src)
		return crosstalk.Address{}, s.challenge(h, realm, false, fmt.Errorf("digest for %s: %w", addr, err))
	}
	s.lockout.Succeed(acct, src)
	return addr, nil
}

// verifyDigest recomputes the response from the stored HA1 and compares in
// constant time. Unknown accounts verify against nothing and fail the same
// way, so the answer does not tell which accounts exist. The HA1 comes
// from the credential cache; a mismatch is checked once more against the
// store, so a password changed a moment ago is not refused.
func (s *Server) verifyDigest(ctx context.Context, req *sipmsg.Request, addr crosstalk.Address, creds *credentials) (bool, error) {
	if !strings.EqualFold(creds.QOP, "auth") || creds.Cnonce == "" || creds.Nc <= 0 {
		return false, nil
	}
	alg := strings.ToUpper(creds.Algorithm)
	if alg == "" {
		alg = "MD5"
	}
	if !slices.Contains(s.cfg.DigestAlgorithms, alg) {
		return false, nil
	}
	for _, fresh := range []bool{false, true} {
		c, err := s.creds.get(ctx, s.store, addr, fresh)
		if errors.Is(err, crosstalk.ErrNoSuchAccount) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("digest account %s: %w", addr, err)
		}
		if digestMatches(req, addr, creds, c, alg) {
			return true, nil
		}
		if s.cfg.CredentialCacheTTL <= 0 {
			break
		}
	}
	return false, nil
}

// digestMatches compares the credentials' response with the one computed
// from the account's HA1 for alg.
func digestMatches(req *sipmsg.Request, addr crosstalk.Address, creds *credentials, c crosstalk.Credentials, alg string) bool {
	var ha1 string
	switch alg {
	case "MD5":
		ha1 = c.HA1MD5
	case "SHA-256":
		ha1 = c.HA1SHA256
	}
	if ha1 == "" || c.Realm != addr.Domain() {
		return false
	}
	return digestResponseMatches(alg, ha1, string(req.Method), creds)
}

func lockedOut(wait time.Duration) *StatusError {
	return &StatusError{Code: 403, Reason: "Forbidden (too many failed logins)",
		Headers: []sipmsg.Header{sipmsg.NewHeader("Retry-After", fmt.Sprint(int(wait/time.Second)+1))},
		Err:     crosstalk.ErrNotAuthorized}
}
