package crosstalk

import (
	"errors"
	"testing"
)

// FuzzParseAddress: parsing never panics; a parsed address formats to a
// string that parses back to the same address.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"alice@example.com/phone", "Ä@bücher.example", "example.com", "a@[::1]/r", "@", "/", "a@b/c/d", "xn--bcher-kva.example", "ｊ@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("error %v does not wrap ErrInvalidAddress", err)
			}
			return
		}
		b, err := ParseAddress(a.String())
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, a, err)
		}
		if b != a {
			t.Fatalf("%q: %q re-parsed to %q", s, a, b)
		}
	})
}

// FuzzSIPURI: mapping never panics; an address that maps to a SIP URI maps
// back to itself without its resource.
func FuzzSIPURI(f *testing.F) {
	for _, s := range []string{"sip:alice@example.com", "sips:a%20b@example.com:5061;transport=tls", "sip:example.com", "tel:+1", "sip:+1;npdi@x.example;user=phone"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		a, err := ParseSIPURI(uri)
		if err != nil {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v does not wrap ErrUnmappable", err)
			}
			return
		}
		back, err := a.SIPURI()
		if err != nil {
			t.Fatalf("%q mapped to %q, which does not map back: %v", uri, a, err)
		}
		again, err := ParseSIPURI(back)
		if err != nil || again != a.Bare() {
			t.Fatalf("%q → %q → %q → %q (%v)", uri, a, back, again, err)
		}
	})
}
