package xmpp

import (
	"strings"
	"testing"

	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

func TestHandshakeDigest(t *testing.T) {
	// SHA-1("abc") from FIPS 180-1's test vectors: id "a", secret "bc".
	if got := handshakeDigest("a", "bc"); got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Fatalf("digest %s", got)
	}
}

func TestParseHandshake(t *testing.T) {
	const d = "aaf456d6b7d1cc5bde6ffaf9bb7de92e2a43dd47"
	for i, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"<handshake>" + d + "</handshake>", d, true},
		{"<handshake xmlns='jabber:component:accept'> " + strings.ToUpper(d) + "\n</handshake>", d, true},
		{"<handshake/>", "", false},
		{"<handshake>" + d[:39] + "</handshake>", "", false},
		{"<handshake>" + d[:39] + "g</handshake>", "", false},
		{"<handshake><x/>" + d + "</handshake>", "", false},
		{"<handshake xmlns='jabber:client'>" + d + "</handshake>", "", false},
		{"<auth>" + d + "</auth>", "", false},
		{"<handshake>" + d, "", false},
	} {
		got, err := parseHandshake([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%d: parseHandshake(%q) = %q, %v", i, tc.in, got, err)
		}
	}
}

func TestComponentStanza(t *testing.T) {
	for i, tc := range []struct{ in, want string }{
		{"<message xmlns='jabber:component:accept' to='a@b'><body>x</body></message>", "<message to='a@b'><body>x</body></message>"},
		{`<iq xmlns="jabber:client" id="1"/>`, `<iq id="1"/>`},
		{"<message to='a@b'/>", "<message to='a@b'/>"},
		{"<message to='a@b'><x xmlns='jabber:component:accept'/></message>", "<message to='a@b'><x xmlns='jabber:component:accept'/></message>"},
	} {
		if got := string(componentStanza([]byte(tc.in))); got != tc.want {
			t.Errorf("%d: %s, want %s", i, got, tc.want)
		}
	}
}

// FuzzComponentInput feeds the two parsers of component input: the
// handshake, and the stanza normalisation followed by the stanza parser. No
// input may panic; a parsed handshake is always 40 lower-case hex digits;
// the normalisation never grows its input.
func FuzzComponentInput(f *testing.F) {
	f.Add([]byte("<handshake>aaf456d6b7d1cc5bde6ffaf9bb7de92e2a43dd47</handshake>"))
	f.Add([]byte("<message xmlns='jabber:component:accept' from='x@gw' to='a@b'><body>x</body></message>"))
	f.Add([]byte("<handshake><handshake/></handshake>"))
	f.Add([]byte("<iq xmlns=\"jabber:client\""))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if d, err := parseHandshake(raw); err == nil {
			if len(d) != 40 || strings.ToLower(d) != d {
				t.Fatalf("handshake digest %q", d)
			}
		}
		out := componentStanza(raw)
		if len(out) > len(raw) {
			t.Fatalf("normalisation grew %q to %q", raw, out)
		}
		_, _ = xmppmap.ParseStanza(out)
	})
}
