package xmpp

import (
	"context"
	"strings"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// TestSentCopyFromOtherProtocol: a message alice sent from her phone (it
// reaches the hub with a SIP payload, from her bare address) shows on her
// XMPP resource that enabled carbons as an XEP-0280 <sent/> carbon of a
// message from alice to bob; a resource without carbons gets nothing.
func TestSentCopyFromOtherProtocol(t *testing.T) {
	ts := startServer(t, nil)
	alice, _ := ts.user(t, "alice"), ts.user(t, "bob")
	a1 := ts.login(t, alice, "a1", true)
	a2 := ts.login(t, alice, "a2", true)
	a1.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	a1.expect("iq", "c1")
	m := &crosstalk.Message{
		ID: "sip-1", From: crosstalk.MustParseAddress("alice@" + testDomain), To: crosstalk.MustParseAddress("bob@" + testDomain),
		Type: crosstalk.MessageChat, Body: "vom Telefon ☎ <&>",
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolSIP, ContentType: "text/plain;charset=UTF-8", Payload: []byte("vom Telefon ☎ <&>")},
	}
	if err := ts.hub.RouteMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	e := a1.expect("message", "urn:xmpp:carbons:2")
	for _, want := range []string{"<sent xmlns='urn:xmpp:carbons:2'>", "to='bob@" + testDomain + "'", "vom Telefon ☎ &lt;&amp;&gt;"} {
		if !strings.Contains(e.Inner, want) {
			t.Fatalf("sent carbon lacks %q: %+v", want, e)
		}
	}
	a2.send("<iq type='get' id='p1' to='" + testDomain + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		e := a2.next()
		if e.XMLName.Local == "message" {
			t.Fatalf("a2 without carbons got %+v", e)
		}
		if e.XMLName.Local == "iq" && e.attr("id") == "p1" {
			break
		}
	}
}
