package xmpp

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// TestRosterSubscriptionPresenceChat walks RFC 6121 between two users:
// roster add, subscription both ways, presence away/dnd, chat both ways
// with non-ASCII text.
func TestRosterSubscriptionPresenceChat(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)

	a.send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' name='Bob'><group>Friends</group></item></query></iq>")
	a.expect("iq", "name='Bob'") // the push (an iq set)
	a.expect("iq", "r1")
	a.send("<presence to='bob@example.test' type='subscribe'/>")
	a.expect("iq", "ask='subscribe'")
	if e := b.expect("presence", "subscribe"); e.attr("from") != "alice@example.test" || e.attr("type") != "subscribe" {
		t.Fatalf("subscribe at bob: %+v", e)
	}
	b.send("<presence to='alice@example.test' type='subscribed'/>")
	b.send("<presence to='alice@example.test' type='subscribe'/>")
	a.expect("iq", "subscription='to'")
	if e := a.expect("presence", "b1"); e.attr("from") != "bob@example.test/b1" {
		t.Fatalf("bob's presence at alice: %+v", e)
	}
	a.expect("presence", "subscribe")
	a.send("<presence to='bob@example.test' type='subscribed'/>")
	b.expect("iq", "subscription='both'")

	a.send("<iq type='get' id='r2'><query xmlns='jabber:iq:roster'/></iq>")
	if e := a.expect("iq", "r2"); !strings.Contains(e.Inner, "subscription='both'") || !strings.Contains(e.Inner, "<group>Friends</group>") {
		t.Fatalf("roster: %s", e.Inner)
	}

	a.send("<presence><show>away</show><status>lunch ☕</status></presence>")
	if e := b.expect("presence", "away"); e.attr("from") != "alice@example.test/a1" || !strings.Contains(e.Inner, "lunch ☕") {
		t.Fatalf("away at bob: %+v", e)
	}
	b.send("<presence><show>dnd</show></presence>")
	a.expect("presence", "dnd")

	a.send("<message to='bob@example.test' type='chat' id='m1'><body>Grüße, 你好 🎉</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	e := b.expect("message", "")
	if e.attr("from") != "alice@example.test/a1" || !strings.Contains(e.Inner, "Grüße, 你好 🎉") || !strings.Contains(e.Inner, "chatstates") {
		t.Fatalf("chat at bob: %+v", e)
	}
	b.send("<message to='alice@example.test/a1' type='chat'><body>Ça va? привет</body></message>")
	if e := a.expect("message", ""); !strings.Contains(e.Inner, "Ça va? привет") {
		t.Fatalf("chat at alice: %+v", e)
	}

	b.send("</stream:stream>")
	if e := a.expect("presence", "unavailable"); e.attr("from") != "bob@example.test/b1" {
		t.Fatalf("unavailable: %+v", e)
	}
}

func TestOfflineDelivery(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	a.send("<message to='bob@example.test' type='chat' id='off1'><body>while you were out — ünïcödé</body></message>")
	a.send("<message to='nobody@example.test' type='chat' id='off2'><body>x</body></message>")
	if e := a.expect("message", ""); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("to a missing account: %+v", e)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := ts.store.CountOffline(t.Context(), bob)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offline count %d, %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := ts.login(t, bob, "b1", true)
	if e := b.expect("message", "off1"); !strings.Contains(e.Inner, "while you were out — ünïcödé") {
		t.Fatalf("offline message: %+v", e)
	}
}

func TestDiscoListsHandledFeatures(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	a := ts.login(t, alice, "a1", false)
	a.send("<iq type='get' id='d1' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	e := a.expect("iq", "d1")
	for _, f := range []string{"urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time", "urn:xmpp:carbons:2", "urn:xmpp:blocking", "jabber:iq:last", "msgoffline", "disco#info"} {
		if !strings.Contains(e.Inner, f) {
			t.Errorf("server disco lacks %s: %s", f, e.Inner)
		}
	}
	var caps struct {
		Node string `xml:"node,attr"`
		Ver  string `xml:"ver,attr"`
	}
	if err := xml.Unmarshal([]byte(ts.srv.caps), &caps); err != nil || caps.Ver == "" {
		t.Fatalf("caps %q: %v", ts.srv.caps, err)
	}
	a.send("<iq type='get' id='d3' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info' node='" + caps.Node + "#" + caps.Ver + "'/></iq>")
	if e := a.expect("iq", "d3"); e.attr("type") != "result" || !strings.Contains(e.Inner, "http://jabber.org/protocol/caps") {
		t.Fatalf("caps node: %+v", e)
	}
	a.send("<iq type='get' id='d2' to='alice@example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := a.expect("iq", "d2"); !strings.Contains(e.Inner, "urn:xmpp:mam:2") || !strings.Contains(e.Inner, "category='account'") || strings.Contains(e.Inner, "jabber:iq:version") {
		t.Fatalf("account disco: %s", e.Inner)
	}
	a.send("<iq type='get' id='v1' to='example.test'><query xmlns='jabber:iq:version'/></iq>")
	if e := a.expect("iq", "v1"); !strings.Contains(e.Inner, "Crosstalk") {
		t.Fatalf("version: %+v", e)
	}
	a.send("<iq type='get' id='t1' to='example.test'><time xmlns='urn:xmpp:time'/></iq>")
	if e := a.expect("iq", "t1"); !strings.Contains(e.Inner, "<utc>") {
		t.Fatalf("time: %+v", e)
	}
}

// TestCarbons checks XEP-0280 with two resources of one account.
func TestCarbons(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a1 := ts.login(t, alice, "a1", true)
	a2 := ts.login(t, alice, "a2", true)
	b := ts.login(t, bob, "b1", true)
	a2.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	a2.expect("iq", "c1")
	a1.send("<message to='bob@example.test/b1' type='chat'><body>sent from a1</body></message>")
	b.expect("message", "sent from a1")
	if e := a2.expect("message", "sent from a1"); !strings.Contains(e.Inner, "<sent xmlns='urn:xmpp:carbons:2'>") {
		t.Fatalf("sent carbon: %+v", e)
	}
	b.send("<message to='alice@example.test/a1' type='chat'><body>to a1 only</body></message>")
	a1.expect("message", "to a1 only")
	if e := a2.expect("message", "to a1 only"); !strings.Contains(e.Inner, "<received xmlns='urn:xmpp:carbons:2'>") {
		t.Fatalf("received carbon: %+v", e)
	}
	// To the bare address: a1 has the higher priority and gets the
	// message; a2 gets a carbon.
	a1.send("<presence><priority>5</priority></presence>")
	a2.expect("presence", "<priority>5</priority>")
	b.send("<message to='alice@example.test' type='chat'><body>to the account</body></message>")
	if e := a1.expect("message", "to the account"); strings.Contains(e.Inner, "carbons") {
		t.Fatalf("a1 got a carbon instead of the message: %+v", e)
	}
	if e := a2.expect("message", "to the account"); !strings.Contains(e.Inner, "<received xmlns='urn:xmpp:carbons:2'>") {
		t.Fatalf("bare received carbon: %+v", e)
	}
}
