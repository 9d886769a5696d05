package xmpp

import (
	"encoding/base64"
	"testing"
)

// FuzzBindResource: the resource read without a decoder is the one a
// parse finds, whatever the <bind/> holds.
func FuzzBindResource(f *testing.F) {
	for _, s := range []string{
		"<resource>r</resource>", " <resource> phone </resource>\n", "<resource/>", "",
		"<resource>a&amp;b</resource>", "<resource>a</resource><resource>b</resource>",
		"<resource><x/></resource>", "<resource>a]]>b</resource>", "<resource>\r\nx</resource>",
		"<resource xmlns='urn:x'>r</resource>", "<resource>caf\xc3\xa9</resource>", "<resource>\xff</resource>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, inner []byte) {
		if got, want := bindResource(inner), bindResourceParsed(inner); got != want {
			t.Fatalf("bind %q: resource %q, parsed %q", inner, got, want)
		}
	})
}

// TestSCRAMDowngradeRefused: over TLS, which offers channel binding, a
// SCRAM client that says it supports binding but believes the server does
// not ("y") is refused (RFC 5802 §6), although an exchange without -PLUS
// derives no binding data (bindingsFor).
func TestSCRAMDowngradeRefused(t *testing.T) {
	ts := startServer(t, nil)
	user := ts.user(t, "alice")
	c := dialRaw(t, ts.addr)
	c.open()
	c.startTLS(ts.roots)
	c.open()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
		base64.StdEncoding.EncodeToString([]byte("y,,n="+user.Local()+",r=downgradenonce")) + "</auth>")
	if e := c.next(); e.XMLName.Local != "failure" {
		t.Fatalf("a downgraded SCRAM exchange: %+v, want <failure/>", e)
	}
}
