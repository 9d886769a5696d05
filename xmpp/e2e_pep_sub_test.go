package xmpp

import (
	"strings"
	"testing"
)

// noEventBefore fails if a PEP event reaches c before the answer to a ping.
func noEventBefore(t *testing.T, c *client, id string) {
	t.Helper()
	c.send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		e := c.next()
		if e.XMLName.Local == "message" && strings.Contains(e.Inner, "pubsub#event") {
			t.Fatalf("unexpected event: %+v", e)
		}
		if e.XMLName.Local == "iq" && e.attr("id") == id {
			return
		}
	}
}

func TestPEPSubscriptionAndWhitelist(t *testing.T) {
	ts := startServer(t, nil)
	alice, carol := ts.user(t, "alice"), ts.user(t, "carol")
	a := ts.login(t, alice, "a1", true)
	c := ts.login(t, carol, "c1", true)
	const bookmarks = "urn:xmpp:bookmarks:1"

	features, caps := pepCaps(nsDevices, bookmarks)
	c.send("<presence>" + caps + "</presence>")
	answerCaps(c, features)

	a.send("<iq type='set' id='p1'>" + publishOpts(nsDevices, "current", "<list xmlns='eu.siacs.conversations.axolotl'><device id='42'/></list>", "open") + "</iq>")
	a.expect("iq", "p1")
	a.send("<iq type='set' id='p2'>" + publishOpts(bookmarks, "room@conference.example.test", "<conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/>", "whitelist") + "</iq>")
	a.expect("iq", "p2")

	// Carol sees no presence of Alice: no notifications, no whitelist items.
	noEventBefore(t, c, "ping1")
	c.send("<iq type='get' id='i1' to='alice@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + bookmarks + "'/></pubsub></iq>")
	if e := c.expect("iq", "i1"); e.attr("type") != "error" || !strings.Contains(e.Inner, "closed-node") {
		t.Fatalf("whitelist items to a stranger: %+v", e)
	}

	// Once Alice approves Carol's subscription, Carol gets the last item of
	// the node she wants and may see, not the whitelist one.
	c.send("<presence to='alice@example.test' type='subscribe'/>")
	a.expect("presence", "subscribe")
	a.send("<presence to='carol@example.test' type='subscribed'/>")
	e := c.expect("message", "pubsub#event")
	if e.attr("from") != "alice@example.test" || !strings.Contains(e.Inner, "42") {
		t.Fatalf("last item on approval: %+v", e)
	}
	noEventBefore(t, c, "ping2")
	a.send("<iq type='set' id='p3'>" + publishOpts(bookmarks, "other@conference.example.test", "<conference xmlns='urn:xmpp:bookmarks:1'/>", "whitelist") + "</iq>")
	a.expect("iq", "p3")
	noEventBefore(t, c, "ping3")

	a.send("<iq type='set' id='p4'>" + publishOpts(strings.Repeat("n", 1025), "x", "<x xmlns='urn:example'/>", "") + "</iq>")
	if e := a.expect("iq", "p4"); e.attr("type") != "error" || !strings.Contains(e.Inner, "not-acceptable") {
		t.Fatalf("long node name: %+v", e)
	}
}
