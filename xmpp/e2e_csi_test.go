package xmpp

import (
	"strings"
	"testing"
)

// TestCSI checks XEP-0352: presence is held while the client is inactive,
// only the latest per sender, and written before the next message and when
// the client is active again.
func TestCSI(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	a.send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@example.test'/></query></iq>")
	a.expect("iq", "r1")
	a.send("<presence to='bob@example.test' type='subscribe'/>")
	b.expect("presence", "subscribe")
	b.send("<presence to='alice@example.test' type='subscribed'/>")
	a.expect("presence", "b1")

	a.send("<inactive xmlns='urn:xmpp:csi:0'/>")
	a.send("<iq type='get' id='sync1'><ping xmlns='urn:xmpp:ping'/></iq>")
	a.expect("iq", "sync1")
	b.send("<presence><show>away</show></presence>")
	b.send("<presence><show>xa</show></presence>")
	b.send("<message to='alice@example.test' type='chat'><body>wake up</body></message>")
	e := a.next()
	if e.XMLName.Local != "presence" || !strings.Contains(e.Inner, "xa") {
		t.Fatalf("expected the latest held presence first, got %+v", e)
	}
	if e := a.next(); e.XMLName.Local != "message" {
		t.Fatalf("expected the message after the held presence, got %+v", e)
	}
	b.send("<presence><show>dnd</show></presence>")
	a.send("<iq type='get' id='sync2'><ping xmlns='urn:xmpp:ping'/></iq>")
	a.expect("iq", "sync2")
	a.send("<active xmlns='urn:xmpp:csi:0'/>")
	a.expect("presence", "dnd")
}
