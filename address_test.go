package crosstalk

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for i, tc := range [...]struct {
		in                      string
		local, domain, resource string
		err                     error
	}{
		0:  {in: "alice@example.com", local: "alice", domain: "example.com"},
		1:  {in: "Alice@Example.COM/Phone", local: "alice", domain: "example.com", resource: "Phone"},
		2:  {in: "example.com", domain: "example.com"},
		3:  {in: "example.com/res", domain: "example.com", resource: "res"},
		4:  {in: "alice@example.com.", local: "alice", domain: "example.com"},
		5:  {in: "alice@example.com/a/b@c", local: "alice", domain: "example.com", resource: "a/b@c"},
		6:  {in: "ÄLICE@Bücher.example", local: "älice", domain: "bücher.example"},
		7:  {in: "alice@xn--bcher-kva.example", local: "alice", domain: "bücher.example"},
		8:  {in: "ｊｕｌｉｅｔ@example.com", local: "juliet", domain: "example.com"},
		9:  {in: "straße@example.com", local: "straße", domain: "example.com"},
		10: {in: "alice@[::1]", local: "alice", domain: "[::1]"},
		11: {in: "alice@127.0.0.1/x y", local: "alice", domain: "127.0.0.1", resource: "x y"},
		12: {in: "alice@example.com/ Ω", local: "alice", domain: "example.com", resource: " Ω"},
		13: {in: "", err: ErrInvalidAddress},
		14: {in: "@example.com", err: ErrInvalidAddress},
		15: {in: "alice@", err: ErrInvalidAddress},
		16: {in: "alice@example.com/", err: ErrInvalidAddress},
		17: {in: "al ice@example.com", err: ErrInvalidAddress},
		18: {in: "al:ice@example.com", err: ErrInvalidAddress},
		19: {in: "a<b@example.com", err: ErrInvalidAddress},
		20: {in: "alice@exa mple.com", err: ErrInvalidAddress},
		21: {in: "alice@::1", err: ErrInvalidAddress},
		22: {in: strings.Repeat("a", 1024) + "@example.com", err: ErrInvalidAddress},
		23: {in: "alice@example.com/\x00", err: ErrInvalidAddress},
		24: {in: "alice@-example.com", err: ErrInvalidAddress},
		25: {in: "alice@[not-ip]", err: ErrInvalidAddress},
		26: {in: "alice@example.com/bell\u0007", err: ErrInvalidAddress},
		27: {in: "alice@\n", err: ErrInvalidAddress},
		28: {in: "alice@exa\tmple.com", err: ErrInvalidAddress},
		29: {in: "alice@b\u00fccher\u0085.example", err: ErrInvalidAddress},
	} {
		a, err := ParseAddress(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%d %q: err = %v, want %v", i, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d %q: %v", i, tc.in, err)
			continue
		}
		if a.Local() != tc.local || a.Domain() != tc.domain || a.Resource() != tc.resource {
			t.Errorf("%d %q: got (%q, %q, %q), want (%q, %q, %q)", i, tc.in, a.Local(), a.Domain(), a.Resource(), tc.local, tc.domain, tc.resource)
		}
		again, err := ParseAddress(a.String())
		if err != nil || again != a {
			t.Errorf("%d %q: re-parse of %q gave %v, %v", i, tc.in, a, again, err)
		}
	}
}

func TestAddressParts(t *testing.T) {
	a := MustParseAddress("alice@example.com/phone")
	if a.IsBare() || a.Bare().String() != "alice@example.com" || !a.Bare().IsBare() {
		t.Errorf("bare of %v", a)
	}
	r, err := a.WithResource("desk")
	if err != nil || r.String() != "alice@example.com/desk" {
		t.Errorf("WithResource: %v %v", r, err)
	}
	if b, _ := a.WithResource(""); b != a.Bare() {
		t.Errorf("WithResource(\"\") = %v", b)
	}
	if !(Address{}).IsZero() || a.IsZero() {
		t.Error("IsZero")
	}
	if _, err := NewAddress("bob", "Example.org", "R"); err != nil {
		t.Error(err)
	}
}

func TestSIPMapping(t *testing.T) {
	for i, tc := range [...]struct {
		uri   string
		addr  string
		back  string
		err   error
		toErr error
	}{
		0:  {uri: "sip:alice@example.com", addr: "alice@example.com", back: "sip:alice@example.com"},
		1:  {uri: "sips:Alice@Example.com:5061;transport=tls?subject=x", addr: "alice@example.com", back: "sip:alice@example.com"},
		2:  {uri: "sip:example.com", addr: "example.com", back: "sip:example.com"},
		3:  {uri: "sip:john%20doe@example.com", addr: `john\20doe@example.com`, back: "sip:john%20doe@example.com"},
		4:  {uri: "sip:a%3Ab@example.com", addr: `a\3ab@example.com`, back: "sip:a%3Ab@example.com"},
		5:  {uri: "sip:+15551234567;npdi@example.com;user=phone", addr: "+15551234567;npdi@example.com", back: "sip:+15551234567;npdi@example.com"},
		6:  {uri: "sip:o'hara@example.com", addr: `o\27hara@example.com`, back: "sip:o'hara@example.com"},
		7:  {uri: "sip:alice@[2001:db8::1]:5060", addr: "alice@[2001:db8::1]", back: "sip:alice@[2001:db8::1]"},
		8:  {uri: "tel:+15551234567", err: ErrUnmappable},
		9:  {uri: "mailto:alice@example.com", err: ErrUnmappable},
		10: {uri: "sip:alice@exa mple.com", err: ErrUnmappable},
		11: {uri: "sip:%zz@example.com", err: ErrUnmappable},
		12: {uri: "sip:@example.com", err: ErrUnmappable},
		13: {uri: "sip:ä%C3%B6@example.com", addr: "äö@example.com", back: "sip:%C3%A4%C3%B6@example.com"},
	} {
		a, err := ParseSIPURI(tc.uri)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%d %q: err = %v, want %v", i, tc.uri, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d %q: %v", i, tc.uri, err)
			continue
		}
		if a.String() != tc.addr {
			t.Errorf("%d %q: address %q, want %q", i, tc.uri, a, tc.addr)
		}
		back, err := a.SIPURI()
		if err != nil || back != tc.back {
			t.Errorf("%d %q: back to %q (%v), want %q", i, tc.uri, back, err, tc.back)
		}
	}
	if _, err := (Address{}).SIPURI(); !errors.Is(err, ErrUnmappable) {
		t.Errorf("empty address: %v", err)
	}
}

func TestEscapeLocal(t *testing.T) {
	for i, tc := range [...]struct{ raw, escaped string }{
		0:  {"space cadet", `space\20cadet`},
		1:  {`call me "ishmael"`, `call\20me\20\22ishmael\22`},
		2:  {"at&t guy", `at\26t\20guy`},
		3:  {"d'artagnan", `d\27artagnan`},
		4:  {"/.fanboy", `\2f.fanboy`},
		5:  {"::foo::", `\3a\3afoo\3a\3a`},
		6:  {"<foo>", `\3cfoo\3e`},
		7:  {"user@host", `user\40host`},
		8:  {`c:\net`, `c\3a\net`},
		9:  {`c:\\net`, `c\3a\\net`},
		10: {`c:\cool stuff`, `c\3a\cool\20stuff`},
		11: {`c:\5commas`, `c\3a\5c5commas`},
	} {
		if got := EscapeLocal(tc.raw); got != tc.escaped {
			t.Errorf("%d: EscapeLocal(%q) = %q, want %q", i, tc.raw, got, tc.escaped)
		}
		if got := UnescapeLocal(tc.escaped); got != tc.raw {
			t.Errorf("%d: UnescapeLocal(%q) = %q, want %q", i, tc.escaped, got, tc.raw)
		}
	}
}

func BenchmarkParseAddress(b *testing.B) {
	for _, in := range []string{"alice@example.com/phone", "Ålice@bücher.example/Téléphone"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseAddress(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMaybeIPLiteral: every string netip.ParseAddr accepts passes the
// quick check, and domain names do not.
func TestMaybeIPLiteral(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "0.0.0.0", "::1", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0", "abcd::", "1::", "255.255.255.255"} {
		if _, err := netip.ParseAddr(s); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if !maybeIPLiteral(s) {
			t.Errorf("%q: not taken for an address", s)
		}
	}
	for _, s := range []string{"example.com", "localhost", "1.2.3.example", "xn--bcher-kva.example", "a"} {
		if maybeIPLiteral(s) {
			t.Errorf("%q: taken for an address", s)
		}
	}
}

func TestEncodeSIPUser(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"alice":         "alice",
		"a.b-c_d!~":     "a.b-c_d!~",
		"a b":           "a%20b",
		"a@b":           "a%40b",
		"x%y":           "x%25y",
		"\u00e9t\u00e9": "%C3%A9t%C3%A9",
		"tom:pw":        "tom%3Apw",
		"+1;x=y":        "+1;x=y",
	} {
		if got := encodeSIPUser(in); got != want {
			t.Errorf("encodeSIPUser(%q) = %q, want %q", in, got, want)
		}
		if got := encodeSIPUserSlow(in); got != want {
			t.Errorf("encodeSIPUserSlow(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEncodeSIPUser checks encodeSIPUser's quick path against escaping
// byte by byte.
func FuzzEncodeSIPUser(f *testing.F) {
	for _, s := range []string{"alice", "a b", "\u00e9", "a@b%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := encodeSIPUser(s), encodeSIPUserSlow(s); got != want {
			t.Errorf("encodeSIPUser(%q) = %q, want %q", s, got, want)
		}
	})
}

// encodeSIPUserSlow escapes byte by byte, as encodeSIPUser did before its
// quick path.
func encodeSIPUserSlow(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; sipUserUnreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
