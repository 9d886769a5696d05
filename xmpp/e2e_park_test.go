package xmpp

import (
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
)

// TestParkedDecoder checks that a session whose reader went quiet, and
// whose decoder was therefore dropped (park) and rebuilt from the stream
// header (unpark), goes on reading stanzas over several idle spells, and
// that the client's stream close after one still matches the stream
// header (a decoder not rebuilt from it reports a syntax error instead).
// The header comes after an XML declaration and a line break, as most
// clients send it, so the replay reads those too.
func TestParkedDecoder(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	c := dialRaw(t, ts.addr)
	c.open()
	c.startTLS(ts.roots)
	f := c.open()
	if e := c.auth(sasl.ScramSha256, alice.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
	c.send("<?xml version='1.0'?>\n<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "' version='1.0'>")
	c.readStreamHeader()
	if f := c.next(); f.XMLName.Local != "features" {
		t.Fatalf("features: %+v", f)
	}
	c.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	c.expect("iq", "jid")
	for i := range 3 {
		if i > 0 {
			time.Sleep(3 * readerLinger) // the reader hands over and the decoder is parked
		}
		c.send("<iq type='get' id='v" + string(rune('0'+i)) + "' to='" + testDomain + "'><query xmlns='jabber:iq:version'/></iq>")
		e := c.expect("iq", "")
		if e.attr("type") != "result" || !strings.Contains(e.Inner, "<name>") {
			t.Fatalf("version query %d after an idle spell: %+v", i, e)
		}
	}
	time.Sleep(3 * readerLinger)
	c.send("</stream:stream>")
	if e := c.next(); e.XMLName.Local != "</stream>" {
		t.Fatalf("after the client's stream close: %+v, want the server's", e)
	}
}
