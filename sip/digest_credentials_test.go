package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/icholy/digest"

	"github.com/crosstalk-im/crosstalk"
)

func TestParseCredentials(t *testing.T) {
	const base = `username="alice", realm="localhost", nonce="n1", uri="sip:bob@localhost", response="0123456789abcdef0123456789abcdef"`
	for i, tc := range []struct {
		in   string
		want credentials // compared when err is empty
		err  string      // substring of the error; empty: no error
	}{
		0: {in: "Digest " + base, want: credentials{Username: "alice", Realm: "localhost", Nonce: "n1", URI: "sip:bob@localhost", Response: "0123456789abcdef0123456789abcdef"}},
		1: {in: "digest  " + base + `, algorithm=SHA-256, qop=auth, cnonce="c", nc=0000000A, opaque="o"`,
			want: credentials{Username: "alice", Realm: "localhost", Nonce: "n1", URI: "sip:bob@localhost", Response: "0123456789abcdef0123456789abcdef",
				Algorithm: "SHA-256", QOP: "auth", Cnonce: "c", NC: "0000000A", Nc: 10, Opaque: "o"}},
		2: {in: `Digest USERNAME = "a\"b\\c" ,Realm="r" ,	nonce="n", uri="u", response="x", qop="auth", cnonce="c", nc=00000001`,
			want: credentials{Username: `a"b\c`, Realm: "r", Nonce: "n", URI: "u", Response: "x", QOP: "auth", Cnonce: "c", NC: "00000001", Nc: 1}},
		3: {in: "Digest " + base + `, ext-param="ignored", other=token`, want: credentials{Username: "alice", Realm: "localhost", Nonce: "n1", URI: "sip:bob@localhost", Response: "0123456789abcdef0123456789abcdef"}},
		4: {in: "Digest " + base + `, userhash=false`, want: credentials{Username: "alice", Realm: "localhost", Nonce: "n1", URI: "sip:bob@localhost", Response: "0123456789abcdef0123456789abcdef"}},
		5: {in: `Digest username=alice,realm=r,nonce=n,uri=sip:x@y,response=ab`, want: credentials{Username: "alice", Realm: "r", Nonce: "n", URI: "sip:x@y", Response: "ab"}},
		6: {in: `Digest username="", realm="", nonce="", uri="", response=""`, want: credentials{}},

		7:  {in: "Basic " + base, err: "not Digest"},
		8:  {in: "Digest", err: "no parameters"},
		9:  {in: "Digest ", err: "no parameters"},
		10: {in: "Digestusername=\"a\"", err: "not Digest"},
		11: {in: "Digest " + base + `, realm="other"`, err: "given twice"},
		12: {in: "Digest " + base + `, Username="other"`, err: "given twice"},
		13: {in: `Digest username="alice", realm="r", nonce="n", uri="u"`, err: "required"},
		14: {in: "Digest " + base + `, qop=auth`, err: "qop needs cnonce and nc"},
		15: {in: "Digest " + base + `, qop=auth, cnonce="c", nc=1`, err: "8 hex digits"},
		16: {in: "Digest " + base + `, qop=auth, cnonce="c", nc=0000000g`, err: "8 hex digits"},
		17: {in: "Digest " + base + `, qop=auth, cnonce="c", nc="00000001"`, err: "8 hex digits"},
		18: {in: "Digest " + base + `, userhash=true`, err: "userhash"},
		19: {in: "Digest " + base + `, username*=UTF-8''a`, err: "username*"},
		20: {in: `Digest username="alice`, err: "unterminated quoted string"},
		21: {in: `Digest username="alice\`, err: "unterminated quoted-pair"},
		32: {in: "Digest username=\"a\\\x01\"", err: "quoted-pair of control"},
		22: {in: "Digest username=\"a\r\nb\"", err: "control character"},
		23: {in: `Digest username="a" realm="r"`, err: "expected ','"},
		24: {in: `Digest username`, err: "no value"},
		25: {in: `Digest username=`, err: "empty value"},
		26: {in: `Digest username=,realm="r"`, err: "empty value"},
		27: {in: `Digest =x`, err: "parameter name"},
		28: {in: `Digest username=a"b`, err: "token value"},
		29: {in: "Digest " + base + ",", err: "parameter name"},
		30: {in: "Digest " + base + `,, nc=00000001`, err: "parameter name"},
		31: {in: "Digest username=\"a\x00\"", err: "control character"},
	} {
		got, err := parseCredentials(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%d: %q: %v", i, tc.in, err)
		case tc.err != "" && err == nil:
			t.Errorf("%d: %q: no error, want %q", i, tc.in, tc.err)
		case tc.err != "" && (!strings.Contains(err.Error(), tc.err) || !errors.Is(err, errBadCredentials)):
			t.Errorf("%d: %q: error %v, want %q", i, tc.in, err, tc.err)
		case tc.err == "" && got != tc.want:
			t.Errorf("%d: %q:\n got %+v\nwant %+v", i, tc.in, got, tc.want)
		}
	}
}

// TestDigestResponseMatches checks our request-digest against
// icholy/digest's client side for both algorithms, and that any change of
// method, URI, nc, cnonce or response fails.
func TestDigestResponseMatches(t *testing.T) {
	addr := crosstalk.MustParseAddress("alice@localhost")
	for _, alg := range []string{"MD5", "SHA-256"} {
		chal := &digest.Challenge{Realm: "localhost", Nonce: "abc", Algorithm: alg, QOP: []string{"auth"}}
		cred, err := digest.Digest(chal, digest.Options{Method: "MESSAGE", URI: "sip:bob@localhost", Username: "alice", Password: "pw", Cnonce: "xyz", Count: 26})
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseCredentials(cred.String())
		if err != nil {
			t.Fatalf("%s: parsing %q: %v", alg, cred.String(), err)
		}
		h := md5.New
		if alg == "SHA-256" {
			h = sha256.New
		}
		ha1 := crosstalk.DigestHA1(h, addr.Local(), "localhost", "pw")
		if !digestResponseMatches(alg, ha1, "MESSAGE", &c) {
			t.Fatalf("%s: a right response does not match: %+v", alg, c)
		}
		upper := c
		upper.Response = strings.ToUpper(c.Response)
		if !digestResponseMatches(alg, ha1, "MESSAGE", &upper) {
			t.Errorf("%s: an upper-case response does not match", alg)
		}
		if digestResponseMatches(alg, ha1, "REGISTER", &c) {
			t.Errorf("%s: matches for another method", alg)
		}
		for name, mod := range map[string]func(*credentials){
			"uri":      func(c *credentials) { c.URI = "sip:eve@localhost" },
			"nc":       func(c *credentials) { c.NC = "0000001b" },
			"cnonce":   func(c *credentials) { c.Cnonce = "xyy" },
			"nonce":    func(c *credentials) { c.Nonce = "abd" },
			"response": func(c *credentials) { c.Response = c.Response[:len(c.Response)-1] + "0" },
			"short":    func(c *credentials) { c.Response = c.Response[:10] },
		} {
			m := c
			mod(&m)
			if m.Response == c.Response && name == "response" {
				m.Response = c.Response[:len(c.Response)-1] + "1"
			}
			if digestResponseMatches(alg, ha1, "MESSAGE", &m) {
				t.Errorf("%s: matches with another %s", alg, name)
			}
		}
		if digestResponseMatches("SHA-512-256", ha1, "MESSAGE", &c) {
			t.Errorf("%s: an unsupported algorithm matches", alg)
		}
	}
}

// FuzzParseCredentials: no input panics; a parsed result has the required
// fields' parameters; and a result serialised again parses to itself.
func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		`Digest username="alice", realm="localhost", nonce="n1", uri="sip:bob@localhost", response="0123456789abcdef0123456789abcdef", algorithm=SHA-256, qop=auth, cnonce="c", nc=00000001`,
		`Digest username="a\"b\\c", realm="r", nonce="n", uri="u", response="x"`,
		`Digest username=alice,realm=r,nonce=n,uri=sip:x@y,response=ab,opaque="",x=y`,
		`Digest username="alice", username="bob", realm="r", nonce="n", uri="u", response="x"`,
		`Digest username="alice\`,
		"Digest username=\"a\r\nX-Injected: 1\"",
		`Digest ` + strings.Repeat(`a="`, 100),
		`Digest ` + strings.Repeat(`x=y,`, 1000) + `z`,
		`Digest username*=UTF-8''%C3%A4, realm="r", nonce="n", uri="u", response="x"`,
		"", "Digest", "Digest ,", `Digest ="`, "Digest \\\\\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parseCredentials(in)
		if err != nil {
			return
		}
		q := func(s string) string {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		out := "Digest username=" + q(c.Username) + ", realm=" + q(c.Realm) + ", nonce=" + q(c.Nonce) + ", uri=" + q(c.URI) + ", response=" + q(c.Response)
		if c.Algorithm != "" {
			out += ", algorithm=" + q(c.Algorithm)
		}
		if c.QOP != "" || c.NC != "" {
			out += ", qop=" + q(c.QOP) + ", cnonce=" + q(c.Cnonce) + ", nc=" + c.NC
		}
		if c.Opaque != "" {
			out += ", opaque=" + q(c.Opaque)
		}
		again, err := parseCredentials(out)
		if err != nil {
			t.Fatalf("%q parsed to %+v, which serialises to %q that does not parse: %v", in, c, out, err)
		}
		if c.QOP == "" && c.NC == "" {
			c.Cnonce = "" // only sent with qop
			again.Cnonce = ""
		}
		if again != c {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", in, again, c)
		}
	})
}

// benchAuthorization is a typical Proxy-Authorization header value.
const benchAuthorization = `Digest username="user17", realm="localhost", nonce="GOtXXtSv7EoCk-hg_gDezc8YwR-iW-QVOiFD63MENUkTeS7h", uri="sip:user18@localhost", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="680fc8510013c704", qop=auth, nc=0000002a`

// BenchmarkDigestVerify is the per-request digest work of the REGISTER
// and MESSAGE paths: parse the credentials, recompute the response from
// HA1, compare. "ours" is this package; "icholy" the
// digest.ParseCredentials + digest.Digest pair it replaced.
func BenchmarkDigestVerify(b *testing.B) {
	ha1 := crosstalk.DigestHA1(md5.New, "user17", "localhost", "secret")
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := parseCredentials(benchAuthorization)
			if err != nil {
				b.Fatal(err)
			}
			digestResponseMatches("MD5", ha1, "MESSAGE", &c)
		}
	})
	b.Run("icholy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := digest.ParseCredentials(benchAuthorization)
			if err != nil {
				b.Fatal(err)
			}
			want, err := digest.Digest(&digest.Challenge{Realm: c.Realm, Nonce: c.Nonce, Algorithm: c.Algorithm, QOP: []string{"auth"}},
				digest.Options{Method: "MESSAGE", URI: c.URI, Username: c.Username, A1: ha1, Cnonce: c.Cnonce, Count: c.Nc})
			if err != nil {
				b.Fatal(err)
			}
			_ = want.Response == strings.ToLower(c.Response)
		}
	})
}

// TestChallengeValue checks our challenge header against icholy/digest's
// Challenge.String, which it replaces, and that icholy's parser (what
// ctload and many UAs' libraries do) reads it back.
func TestChallengeValue(t *testing.T) {
	for _, tc := range []struct {
		alg   string
		stale bool
	}{{"SHA-256", false}, {"MD5", false}, {"SHA-256", true}, {"MD5", true}} {
		nonce := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_"
		want := (&digest.Challenge{Realm: "example.com", Nonce: nonce, Algorithm: tc.alg, QOP: []string{"auth"}, Stale: tc.stale}).String()
		got := challengeValue("example.com", nonce, tc.alg, tc.stale)
		if got != want {
			t.Errorf("challengeValue(%s, stale=%v) = %s, want %s", tc.alg, tc.stale, got, want)
		}
		c, err := digest.ParseChallenge(got)
		if err != nil {
			t.Fatalf("ParseChallenge(%s): %v", got, err)
		}
		if c.Realm != "example.com" || c.Nonce != nonce || c.Algorithm != tc.alg || c.Stale != tc.stale || !c.SupportsQOP("auth") {
			t.Errorf("parsed back as %+v", c)
		}
	}
}
