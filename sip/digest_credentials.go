package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// credentials are the digest credentials of an Authorization or
// Proxy-Authorization header (RFC 3261 §25.1 digest-response, RFC 7616
// §3.4, RFC 8760). Field values are the unquoted parameter values; they
// share the header's memory unless a quoted-pair had to be undone.
type credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string // as sent; empty means MD5 (RFC 7616 §3.4)
	Cnonce    string
	Opaque    string
	QOP       string
	NC        string // the nc-value exactly as sent (8LHEX), part of the hash
	Nc        int    // NC's value; 0 when absent
	Userhash  bool
}

// Parameter bits, for duplicate and missing-parameter checks.
const (
	cpUsername = 1 << iota
	cpRealm
	cpNonce
	cpURI
	cpResponse
	cpAlgorithm
	cpCnonce
	cpOpaque
	cpQOP
	cpNC
	cpUserhash
	cpUsernameStar

	cpRequired = cpUsername | cpRealm | cpNonce | cpURI | cpResponse
)

var errBadCredentials = errors.New("malformed digest credentials")

// parseCredentials parses the value of an Authorization or
// Proxy-Authorization header with the Digest scheme:
//
//	credentials = "Digest" 1*LWS auth-param *(LWS "," LWS auth-param)
//	auth-param  = token LWS "=" LWS ( token / quoted-string )
//
// Parameter names are case-insensitive; quoted strings may hold
// quoted-pairs (undone in the result). A parameter given twice, one of
// username, realm, nonce, uri and response missing, a qop without cnonce
// and nc, an nc that is not eight hex digits, userhash=true, username*
// (RFC 7616 §3.4.4, not supported) or any syntax error is an error.
// Unknown parameters are checked for syntax and otherwise ignored
// (RFC 7616 §3.4: auth-param extensions). It allocates only to undo
// quoted-pairs.
func parseCredentials(v string) (credentials, error) {
	var c credentials
	p := cparser{s: v}
	p.skipLWS()
	scheme := p.token()
	if !strings.EqualFold(scheme, "Digest") {
		return c, fmt.Errorf("%w: scheme %q is not Digest", errBadCredentials, scheme)
	}
	if p.i < len(p.s) && !isLWS(p.s[p.i]) {
		return c, fmt.Errorf("%w: no space after the scheme", errBadCredentials)
	}
	var seen int
	for first := true; ; first = false {
		p.skipLWS()
		if p.i == len(p.s) {
			if first {
				return c, fmt.Errorf("%w: no parameters", errBadCredentials)
			}
			break
		}
		if !first {
			if p.s[p.i] != ',' {
				return c, fmt.Errorf("%w: expected ',' at offset %d", errBadCredentials, p.i)
			}
			p.i++
			p.skipLWS()
		}
		name := p.token()
		if name == "" {
			return c, fmt.Errorf("%w: expected a parameter name at offset %d", errBadCredentials, p.i)
		}
		p.skipLWS()
		if p.i == len(p.s) || p.s[p.i] != '=' {
			return c, fmt.Errorf("%w: parameter %q has no value", errBadCredentials, name)
		}
		p.i++
		p.skipLWS()
		val, quoted, err := p.value()
		if err != nil {
			return c, fmt.Errorf("%w: parameter %q: %w", errBadCredentials, name, err)
		}
		bit, dst := c.field(name)
		if bit == 0 {
			continue // an extension parameter
		}
		if seen&bit != 0 {
			return c, fmt.Errorf("%w: parameter %q given twice", errBadCredentials, name)
		}
		seen |= bit
		switch bit {
		case cpNC:
			if quoted || len(val) != 8 {
				return c, fmt.Errorf("%w: nc %q is not 8 hex digits", errBadCredentials, val)
			}
			n, err := strconv.ParseUint(val, 16, 32)
			if err != nil {
				return c, fmt.Errorf("%w: nc %q is not 8 hex digits", errBadCredentials, val)
			}
			c.NC, c.Nc = val, int(n)
		case cpUserhash:
			if strings.EqualFold(val, "true") {
				return c, fmt.Errorf("%w: userhash is not supported", errBadCredentials)
			}
		case cpUsernameStar:
			return c, fmt.Errorf("%w: username* is not supported", errBadCredentials)
		default:
			*dst = val
		}
	}
	if seen&cpRequired != cpRequired {
		return c, fmt.Errorf("%w: username, realm, nonce, uri and response are required", errBadCredentials)
	}
	if seen&cpQOP != 0 && seen&(cpCnonce|cpNC) != cpCnonce|cpNC {
		return c, fmt.Errorf("%w: qop needs cnonce and nc", errBadCredentials)
	}
	return c, nil
}

// field maps a parameter name (any case) to its bit and destination.
func (c *credentials) field(name string) (int, *string) {
	switch strings.ToLower(name) { // no allocation for names already lower-case
	case "username":
		return cpUsername, &c.Username
	case "realm":
		return cpRealm, &c.Realm
	case "nonce":
		return cpNonce, &c.Nonce
	case "uri":
		return cpURI, &c.URI
	case "response":
		return cpResponse, &c.Response
	case "algorithm":
		return cpAlgorithm, &c.Algorithm
	case "cnonce":
		return cpCnonce, &c.Cnonce
	case "opaque":
		return cpOpaque, &c.Opaque
	case "qop":
		return cpQOP, &c.QOP
	case "nc":
		return cpNC, nil
	case "userhash":
		return cpUserhash, nil
	case "username*":
		return cpUsernameStar, nil
	}
	return 0, nil
}

// cparser is a cursor over a header value.
type cparser struct {
	s string
	i int
}

func isLWS(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// skipLWS skips linear white space (folding included: sipgo has
// already joined folded lines, but a CRLF inside is harmless here).
func (p *cparser) skipLWS() {
	for p.i < len(p.s) && isLWS(p.s[p.i]) {
		p.i++
	}
}

// isTokenChar reports a token character (RFC 3261 §25.1 token), plus '*'
// for username*.
func isTokenChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", b) >= 0
}

func (p *cparser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a token or a quoted string. A token value may also hold
// the URI characters some UAs send unquoted (RFC 3261's digest-uri is
// quoted, but "/" and ":" in tokens are common in the wild): everything
// up to LWS or ','.
func (p *cparser) value() (string, bool, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		v, err := p.quoted()
		return v, true, err
	}
	start := p.i
	for p.i < len(p.s) {
		b := p.s[p.i]
		if b == ',' || isLWS(b) {
			break
		}
		if b == '"' || b == '\\' || b < 0x21 || b == 0x7f {
			return "", false, fmt.Errorf("character %q in a token value", b)
		}
		p.i++
	}
	if p.i == start {
		return "", false, errors.New("empty value")
	}
	return p.s[start:p.i], false, nil
}

// quoted reads a quoted-string (RFC 3261 §25.1: qdtext and quoted-pair);
// p.s[p.i] is the opening quote.
func (p *cparser) quoted() (string, error) {
	p.i++
	start := p.i
	escaped := false
	for p.i < len(p.s) {
		b := p.s[p.i]
		switch {
		case b == '"':
			v := p.s[start:p.i]
			p.i++
			if escaped {
				v = unquote(v)
			}
			return v, nil
		case b == '\\':
			if p.i+1 == len(p.s) {
				return "", errors.New("unterminated quoted-pair")
			}
			if c := p.s[p.i+1]; isCTL(c) {
				return "", fmt.Errorf("quoted-pair of control character %q", c)
			}
			escaped = true
			p.i += 2
		case isCTL(b):
			return "", fmt.Errorf("control character %q in a quoted string", b)
		default:
			p.i++
		}
	}
	return "", errors.New("unterminated quoted string")
}

// isCTL reports a control character other than HTAB, which neither qdtext
// nor a quoted-pair may hold (RFC 7230 §3.2.6, as RFC 7616 uses it).
func isCTL(b byte) bool { return (b < 0x20 && b != '\t') || b == 0x7f }

// unquote undoes the quoted-pairs of a quoted string's content.
func unquote(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// digestResponseMatches computes the qop=auth request-digest (RFC 7616
// §3.4.1, RFC 3261 §22.4) from the stored HA1 for alg ("MD5" or
// "SHA-256"), method and the credentials, and compares it in constant
// time with the response sent (hex, any case):
//
//	response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri))
//
// It uses the nc exactly as sent. Stack buffers keep it free of heap
// allocations for ordinary lengths.
func digestResponseMatches(alg, ha1, method string, c *credentials) bool {
	var size int
	switch alg {
	case "MD5":
		size = md5.Size
	case "SHA-256":
		size = sha256.Size
	default:
		return false
	}
	if len(c.Response) != 2*size || len(ha1) != 2*size {
		return false
	}
	var buf [512]byte
	ha2 := hashJoin(size, buf[:0], method, c.URI)
	var ha2hex [2 * sha256.Size]byte
	hex.Encode(ha2hex[:], ha2[:size])
	b := append(buf[:0], ha1...)
	for _, s := range [...]string{c.Nonce, c.NC, c.Cnonce, c.QOP} {
		b = append(append(b, ':'), s...)
	}
	b = append(append(b, ':'), ha2hex[:2*size]...)
	want := hashJoin(size, b)
	var wantHex, got [2 * sha256.Size]byte
	hex.Encode(wantHex[:], want[:size])
	for i := range 2 * size {
		b := c.Response[i]
		if 'A' <= b && b <= 'F' {
			b += 'a' - 'A'
		}
		got[i] = b
	}
	return subtle.ConstantTimeCompare(wantHex[:2*size], got[:2*size]) == 1
}

// hashJoin appends parts joined by ':' to b and returns the MD5 (size 16)
// or SHA-256 hash of the result, in a SHA-256-sized array.
func hashJoin(size int, b []byte, parts ...string) [sha256.Size]byte {
	for i, s := range parts {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, s...)
	}
	var out [sha256.Size]byte
	if size == md5.Size {
		h := md5.Sum(b)
		copy(out[:], h[:])
	} else {
		out = sha256.Sum256(b)
	}
	return out
}
