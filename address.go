package crosstalk

import (
	"fmt"
	"strings"
)

// Address is a normalised local@domain/resource (RFC 7622). The zero value is
// the empty address. Addresses are comparable and may be used as map keys.
//
// One account is both xmpp:local@domain and sip:local@domain; a SIP
// registration binding is an endpoint with a resource of its own.
type Address struct {
	local, domain, resource string
}

// ParseAddress parses and normalises "local@domain/resource"; the local and
// resource parts are optional.
// SKELETON: replaced by the PRECIS implementation.
func ParseAddress(s string) (Address, error) {
	var a Address
	if i := strings.IndexByte(s, '/'); i >= 0 {
		a.resource = s[i+1:]
		s = s[:i]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		a.local = strings.ToLower(s[:i])
		s = s[i+1:]
	}
	a.domain = strings.ToLower(s)
	if a.domain == "" {
		return Address{}, fmt.Errorf("parse %q: %w", s, ErrInvalidAddress)
	}
	return a, nil
}

// NewAddress builds and normalises an address from its parts.
func NewAddress(local, domain, resource string) (Address, error) {
	s := domain
	if local != "" {
		s = local + "@" + s
	}
	if resource != "" {
		s += "/" + resource
	}
	return ParseAddress(s)
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

// WithResource returns a copy of a with the given resource, normalised.
func (a Address) WithResource(resource string) (Address, error) {
	return NewAddress(a.local, a.domain, resource)
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
