package crosstalk

import (
	"fmt"
	"net/url"
	"strings"
)

// xep0106 lists the characters a JID localpart cannot hold and their
// escapes (XEP-0106 §3.1), in the order of the XEP's table.
var xep0106 = [...]struct {
	char   byte
	escape string
}{
	{' ', `\20`}, {'"', `\22`}, {'&', `\26`}, {'\'', `\27`}, {'/', `\2f`},
	{':', `\3a`}, {'<', `\3c`}, {'>', `\3e`}, {'@', `\40`}, {'\\', `\5c`},
}

// EscapeLocal escapes a user name for use as a JID localpart (XEP-0106). A
// backslash is escaped only where it would otherwise start an escape
// sequence, so that an existing "\" in a name survives.
func EscapeLocal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && !startsEscape(s[i:]) {
			b.WriteByte(c)
			continue
		}
		done := false
		for _, e := range xep0106 {
			if e.char == c {
				b.WriteString(e.escape)
				done = true
				break
			}
		}
		if !done {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// UnescapeLocal reverses EscapeLocal (XEP-0106 §4.3).
func UnescapeLocal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if c, ok := escapeAt(s[i:]); ok {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func escapeAt(s string) (byte, bool) {
	if len(s) < 3 {
		return 0, false
	}
	seq := strings.ToLower(s[:3])
	for _, e := range xep0106 {
		if e.escape == seq {
			return e.char, true
		}
	}
	return 0, false
}

func startsEscape(s string) bool {
	_, ok := escapeAt(s)
	return ok
}

// ParseSIPURI maps a sip: or sips: URI to an address (RFC 7247 §5): the
// percent-decoded user part, XEP-0106-escaped, becomes the localpart and the
// host the domainpart. URI parameters, headers and the port are dropped. A
// URI of another scheme (tel:, …) or with an unusable user or host wraps
// ErrUnmappable.
func ParseSIPURI(uri string) (Address, error) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || (!strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips")) {
		return Address{}, fmt.Errorf("sip uri %q: %w: not a sip or sips URI", short(uri), ErrUnmappable)
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	user, hostport, hasUser := cutLast(rest, "@")
	if !hasUser {
		user, hostport = "", rest
	}
	if i := strings.IndexByte(hostport, ';'); i >= 0 {
		hostport = hostport[:i]
	}
	host := hostport
	if strings.HasPrefix(hostport, "[") {
		if j := strings.IndexByte(hostport, ']'); j >= 0 {
			host = hostport[:j+1]
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host = hostport[:i]
	}
	var local string
	if hasUser {
		// A telephone-subscriber user part may carry ;parameters: they are
		// part of the user (RFC 3261 §19.1.1) and stay, escaped.
		decoded, err := url.PathUnescape(user)
		if err != nil || decoded == "" {
			return Address{}, fmt.Errorf("sip uri %q: %w: bad user part", short(uri), ErrUnmappable)
		}
		local = EscapeLocal(decoded)
	}
	a, err := NewAddress(local, host, "")
	if err != nil {
		return Address{}, fmt.Errorf("sip uri %q: %w (%w)", short(uri), ErrUnmappable, err)
	}
	return a, nil
}

// SIPURI maps the address to a sip: URI (RFC 7247 §4): the localpart,
// XEP-0106-unescaped and percent-encoded, becomes the user part. The resource
// has no place in a SIP address of record and is dropped.
func (a Address) SIPURI() (string, error) {
	if a.domain == "" {
		return "", fmt.Errorf("address %q: %w: no domain", a, ErrUnmappable)
	}
	if a.local == "" {
		return "sip:" + a.domain, nil
	}
	return "sip:" + encodeSIPUser(UnescapeLocal(a.local)) + "@" + a.domain, nil
}

// encodeSIPUser percent-encodes what RFC 3261 §25.1 does not allow
// unescaped in a user part.
func encodeSIPUser(s string) string {
	i := 0
	for i < len(s) && sipUserUnreserved(s[i]) {
		i++
	}
	if i == len(s) {
		return s // the usual case: nothing to escape, nothing to allocate
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if sipUserUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// sipUserUnreserved reports whether c stands for itself in a SIP user part
// (RFC 3261 §25.1: unreserved and user-unreserved characters).
func sipUserUnreserved(c byte) bool {
	const allowed = "-_.!~*'()&=+$,;?/"
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte(allowed, c) >= 0
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return "", s, false
}

func short(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
