package crosstalk

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

// maxPartBytes is the longest localpart, domainpart or resourcepart
// (RFC 7622 §3.2–3.4).
const maxPartBytes = 1023

// Address is a normalised local@domain/resource (RFC 7622). The zero value is
// the empty address. Addresses are comparable and may be used as map keys;
// two addresses are the same when they are ==.
//
// One account is both xmpp:local@domain and sip:local@domain; a SIP
// registration binding is an endpoint with a resource of its own.
type Address struct {
	local, domain, resource string
}

// domainProfile maps and checks domainparts per RFC 7622 §3.2 (IDNA2008
// U-labels, lower case).
var domainProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false), idna.BidiRule())

// ParseAddress parses and normalises "local@domain/resource"; the local and
// resource parts are optional. The resource starts at the first '/', the
// localpart ends at the first '@' before it (RFC 7622 §3.1). Errors wrap
// ErrInvalidAddress and say which part is wrong.
func ParseAddress(s string) (Address, error) {
	rest, resource, hasResource := strings.Cut(s, "/")
	local, domain, hasLocal := strings.Cut(rest, "@")
	if !hasLocal {
		local, domain = "", rest
	}
	if hasLocal && local == "" {
		return Address{}, fmt.Errorf("address %q: %w: empty localpart", s, ErrInvalidAddress)
	}
	if hasResource && resource == "" {
		return Address{}, fmt.Errorf("address %q: %w: empty resourcepart", s, ErrInvalidAddress)
	}
	return newAddress(local, domain, resource)
}

// NewAddress builds and normalises an address from its parts; local and
// resource may be empty.
func NewAddress(local, domain, resource string) (Address, error) {
	return newAddress(local, domain, resource)
}

func newAddress(local, domain, resource string) (Address, error) {
	if !utf8.ValidString(local) || !utf8.ValidString(domain) || !utf8.ValidString(resource) {
		return Address{}, fmt.Errorf("address: %w: not valid UTF-8", ErrInvalidAddress)
	}
	var (
		a   Address
		err error
	)
	if a.domain, err = normDomain(domain); err != nil {
		return Address{}, err
	}
	if local != "" {
		if a.local, err = normLocal(local); err != nil {
			return Address{}, err
		}
	}
	if resource != "" {
		if a.resource, err = normResource(resource); err != nil {
			return Address{}, err
		}
	}
	return a, nil
}

func partError(part, value, why string) error {
	if len(value) > 64 {
		value = value[:64] + "…"
	}
	return fmt.Errorf("%s %q: %w: %s", part, value, ErrInvalidAddress, why)
}

// normLocal applies the PRECIS UsernameCaseMapped profile (RFC 8265 §3.3)
// and the extra exclusions of RFC 7622 §3.3.1.
func normLocal(s string) (string, error) {
	out, ok := asciiLocal(s)
	if !ok {
		var err error
		if out, err = precis.UsernameCaseMapped.String(s); err != nil {
			return "", partError("localpart", s, err.Error())
		}
	}
	if out == "" || len(out) > maxPartBytes {
		return "", partError("localpart", s, "must be 1 to 1023 bytes")
	}
	if i := strings.IndexAny(out, "\"&'/:<>@"); i >= 0 {
		return "", partError("localpart", s, fmt.Sprintf("%q is not allowed", out[i]))
	}
	return out, nil
}

// asciiLocal is the fast path of normLocal for printable ASCII, where the
// profile reduces to lower-casing.
func asciiLocal(s string) (string, bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f {
			return "", false
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if upper {
		return strings.ToLower(s), true
	}
	return s, true
}

// maybeIPLiteral reports whether netip.ParseAddr could accept s: an IPv4
// address has only digits and dots, an IPv6 one has a colon. It spares
// ParseAddr for domain names, where it fails and allocates its error (5%
// of the bytes allocated per relayed SIP MESSAGE).
func maybeIPLiteral(s string) bool {
	if strings.IndexByte(s, ':') >= 0 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// normDomain lower-cases and IDNA-maps a domainpart, strips one trailing
// dot, and accepts IP literals (RFC 7622 §3.2).
func normDomain(s string) (string, error) {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > maxPartBytes {
		return "", partError("domainpart", s, "must be 1 to 1023 bytes")
	}
	if s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return "", partError("domainpart", s, "empty label")
	}
	if s[0] == '[' {
		ip, err := netip.ParseAddr(strings.TrimSuffix(s[1:], "]"))
		if err != nil || !strings.HasSuffix(s, "]") || !ip.Is6() {
			return "", partError("domainpart", s, "not an IPv6 literal")
		}
		return "[" + ip.String() + "]", nil
	}
	if maybeIPLiteral(s) {
		if ip, err := netip.ParseAddr(s); err == nil {
			if ip.Is4() {
				return ip.String(), nil
			}
			return "", partError("domainpart", s, "an IPv6 address needs brackets")
		}
	}
	if out, ok := asciiDomain(s); ok {
		return out, nil
	}
	out, err := domainProfile.ToUnicode(s)
	if err != nil {
		return "", partError("domainpart", s, err.Error())
	}
	if out == "" || len(out) > maxPartBytes || strings.ContainsAny(out, " /@[]:") || strings.ContainsFunc(out, unicode.IsControl) ||
		out[0] == '.' || out[len(out)-1] == '.' || strings.Contains(out, "..") {
		return "", partError("domainpart", s, "not a domain name")
	}
	return out, nil
}

// asciiDomain is the fast path of normDomain for LDH labels without
// A-labels, where the mapping reduces to lower-casing.
func asciiDomain(s string) (string, bool) {
	label := 0
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '-':
			if label == 0 || i+1 == len(s) || s[i+1] == '.' {
				return "", false
			}
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = 0
			continue
		default:
			return "", false
		}
		label++
		if label > 63 {
			return "", false
		}
	}
	if label == 0 || strings.Contains(s, "--") {
		return "", false // let IDNA judge A-labels and hyphen rules
	}
	if upper {
		return strings.ToLower(s), true
	}
	return s, true
}

// normResource applies the PRECIS OpaqueString profile (RFC 8265 §4.2).
func normResource(s string) (string, error) {
	out, ok := asciiResource(s)
	if !ok {
		var err error
		if out, err = precis.OpaqueString.String(s); err != nil {
			return "", partError("resourcepart", s, err.Error())
		}
	}
	if out == "" || len(out) > maxPartBytes {
		return "", partError("resourcepart", s, "must be 1 to 1023 bytes")
	}
	return out, nil
}

// asciiResource is the fast path of normResource: printable ASCII and space
// (not leading, trailing nor only) pass OpaqueString unchanged.
func asciiResource(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return "", false
		}
	}
	return s, s != "" && s[0] != ' ' && s[len(s)-1] != ' '
}

// MustParseAddress is ParseAddress for constants in tests and examples; it
// panics on an invalid address.
func MustParseAddress(s string) Address {
	a, err := ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// Local returns the localpart, which may be empty.
func (a Address) Local() string { return a.local }

// Domain returns the domainpart.
func (a Address) Domain() string { return a.domain }

// Resource returns the resourcepart, which may be empty.
func (a Address) Resource() string { return a.resource }

// Bare returns the address without its resource.
func (a Address) Bare() Address { return Address{local: a.local, domain: a.domain} }

// IsBare reports whether the address has no resource.
func (a Address) IsBare() bool { return a.resource == "" }

// IsZero reports whether a is the empty address.
func (a Address) IsZero() bool { return a == Address{} }

// WithResource returns a copy of a with the given resource, normalised; an
// empty resource gives the bare address.
func (a Address) WithResource(resource string) (Address, error) {
	if resource == "" {
		return a.Bare(), nil
	}
	r, err := normResource(resource)
	if err != nil {
		return Address{}, err
	}
	return Address{local: a.local, domain: a.domain, resource: r}, nil
}

// String formats the address as local@domain/resource.
func (a Address) String() string {
	var b strings.Builder
	b.Grow(len(a.local) + len(a.domain) + len(a.resource) + 2)
	if a.local != "" {
		b.WriteString(a.local)
		b.WriteByte('@')
	}
	b.WriteString(a.domain)
	if a.resource != "" {
		b.WriteByte('/')
		b.WriteString(a.resource)
	}
	return b.String()
}
