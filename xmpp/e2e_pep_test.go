package xmpp

import (
	"strings"
	"testing"

	"github.com/crosstalk-im/crosstalk/xmpp/disco"
)

const (
	nsDevices = "eu.siacs.conversations.axolotl.devicelist"
	nsAvatar  = "urn:xmpp:avatar:metadata"
)

// befriend makes a and b subscribe to each other (both logged in with
// initial presence, a as alice@, b as bob@).
func befriend(t *testing.T, a, b *client, aBare, bBare string) {
	t.Helper()
	a.send("<presence to='" + bBare + "' type='subscribe'/>")
	b.expect("presence", "subscribe")
	b.send("<presence to='" + aBare + "' type='subscribed'/>")
	b.send("<presence to='" + aBare + "' type='subscribe'/>")
	for pushed, asked := false, false; !pushed || !asked; {
		e := a.next()
		pushed = pushed || e.XMLName.Local == "iq" && strings.Contains(e.Inner, "subscription='to'")
		asked = asked || e.XMLName.Local == "presence" && e.attr("type") == "subscribe"
	}
	a.send("<presence to='" + bBare + "' type='subscribed'/>")
	b.expect("iq", "subscription='both'")
}

// pepCaps is a client's XEP-0115 capabilities: its features and the
// <c/> element advertising them.
func pepCaps(notify ...string) (features []string, c string) {
	features = []string{disco.NSInfo, disco.NSCaps}
	for _, n := range notify {
		features = append(features, n+"+notify")
	}
	ver := disco.Ver([]disco.Identity{{Category: "client", Type: "phone", Name: "test"}}, features)
	return features, "<c xmlns='" + disco.NSCaps + "' hash='sha-1' node='https://client.example' ver='" + ver + "'/>"
}

// answerCaps answers the server's disco#info query about the client's caps.
func answerCaps(c *client, features []string) {
	c.t.Helper()
	q := c.expect("iq", disco.NSInfo)
	if q.attr("type") != "get" {
		c.t.Fatalf("caps query: %+v", q)
	}
	var b strings.Builder
	b.WriteString("<iq type='result' id='" + q.attr("id") + "' to='" + q.attr("from") + "'><query xmlns='" + disco.NSInfo + "'>")
	b.WriteString("<identity category='client' type='phone' name='test'/>")
	for _, f := range features {
		b.WriteString("<feature var='" + f + "'/>")
	}
	b.WriteString("</query></iq>")
	c.send(b.String())
}

func publishOpts(node, id, payload, access string) string {
	opts := ""
	if access != "" {
		opts = "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
			"<field var='pubsub#access_model'><value>" + access + "</value></field></x></publish-options>"
	}
	return "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" + node + "'><item id='" + id + "'>" + payload + "</item></publish>" + opts + "</pubsub>"
}

func TestPEP(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob, carol := ts.user(t, "alice"), ts.user(t, "bob"), ts.user(t, "carol")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	befriend(t, a, b, alice.String(), bob.String())

	// Disco on the account advertises PEP and publish-options.
	a.send("<iq type='get' id='d1' to='alice@example.test'><query xmlns='" + disco.NSInfo + "'/></iq>")
	if e := a.expect("iq", "d1"); !strings.Contains(e.Inner, "category='pubsub' type='pep'") ||
		!strings.Contains(e.Inner, "pubsub#publish-options") || !strings.Contains(e.Inner, "pubsub#publish'") {
		t.Fatalf("account disco: %s", e.Inner)
	}

	// Alice's client announces +notify for devices and avatars; the server
	// asks it with disco#info.
	features, c := pepCaps(nsDevices, nsAvatar)
	a.send("<presence>" + c + "</presence>")
	answerCaps(a, features)

	devices := "<list xmlns='eu.siacs.conversations.axolotl'><device id='1234'/></list>"
	a.send("<iq type='set' id='p1'>" + publishOpts(nsDevices, "current", devices, "open") + "</iq>")
	// The result and the owner's own notification, in either order.
	for result, event := false, false; !result || !event; {
		e := a.next()
		switch {
		case e.XMLName.Local == "iq" && e.attr("id") == "p1":
			if e.attr("type") != "result" || !strings.Contains(e.Inner, "<item id='current'/>") {
				t.Fatalf("publish: %+v", e)
			}
			result = true
		case e.XMLName.Local == "message" && strings.Contains(e.Inner, "1234"):
			if e.attr("from") != "alice@example.test" || e.attr("type") != "headline" {
				t.Fatalf("own notification: %+v", e)
			}
			event = true
		}
	}

	// Bob's client has the same caps: known already, no query; it gets the
	// last item when its caps arrive, then live notifications.
	b.send("<presence>" + c + "</presence>")
	if e := b.expect("message", "1234"); e.attr("from") != "alice@example.test" || !strings.Contains(e.Inner, "pubsub#event") {
		t.Fatalf("last item at bob: %+v", e)
	}
	devices2 := "<list xmlns='eu.siacs.conversations.axolotl'><device id='1234'/><device id='5678'/></list>"
	a.send("<iq type='set' id='p2'>" + publishOpts(nsDevices, "current", devices2, "open") + "</iq>")
	a.expect("iq", "p2")
	b.expect("message", "5678")

	// Publish-options disagreeing with the node: conflict, precondition-not-met.
	a.send("<iq type='set' id='p3'>" + publishOpts(nsDevices, "current", devices, "presence") + "</iq>")
	if e := a.expect("iq", "p3"); e.attr("type") != "error" || !strings.Contains(e.Inner, "<conflict") || !strings.Contains(e.Inner, "precondition-not-met") {
		t.Fatalf("precondition: %+v", e)
	}

	// max_items 1 by default: the last item only; presence access.
	a.send("<iq type='set' id='p4'>" + publishOpts(nsAvatar, "h1", "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='h1'/></metadata>", "") + "</iq>")
	a.expect("iq", "p4")
	a.send("<iq type='set' id='p5'>" + publishOpts(nsAvatar, "h2", "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='h2'/></metadata>", "") + "</iq>")
	a.expect("iq", "p5")
	b.send("<iq type='get' id='i1' to='alice@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + nsAvatar + "'/></pubsub></iq>")
	if e := b.expect("iq", "i1"); e.attr("type") != "result" || !strings.Contains(e.Inner, "<item id='h2'>") || strings.Contains(e.Inner, "h1") {
		t.Fatalf("items: %+v", e)
	}

	// Carol sees no presence of Alice: the open node yes, the presence node no.
	cl := ts.login(t, carol, "c1", true)
	cl.send("<iq type='get' id='i2' to='alice@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + nsDevices + "'><item id='current'/></items></pubsub></iq>")
	if e := cl.expect("iq", "i2"); e.attr("type") != "result" || !strings.Contains(e.Inner, "5678") {
		t.Fatalf("open items: %+v", e)
	}
	cl.send("<iq type='get' id='i3' to='alice@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + nsAvatar + "' max_items='1'/></pubsub></iq>")
	if e := cl.expect("iq", "i3"); e.attr("type") != "error" || !strings.Contains(e.Inner, "presence-subscription-required") {
		t.Fatalf("presence items to a stranger: %+v", e)
	}
	cl.send("<iq type='set' id='i4' to='alice@example.test'>" + publishOpts(nsDevices, "current", devices, "") + "</iq>")
	if e := cl.expect("iq", "i4"); e.attr("type") != "error" || !strings.Contains(e.Inner, "forbidden") {
		t.Fatalf("publish to another's node: %+v", e)
	}

	// Reconfiguring a node (what OMEMO clients do after precondition-not-met).
	a.send("<iq type='get' id='c1'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='" + nsAvatar + "'/></pubsub></iq>")
	if e := a.expect("iq", "c1"); e.attr("type") != "result" || !strings.Contains(e.Inner, "<value>presence</value></field>") {
		t.Fatalf("configure get: %+v", e)
	}
	a.send("<iq type='set' id='c2'>" + publishOpts(nsAvatar, "h2", "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='h2'/></metadata>", "open") + "</iq>")
	if e := a.expect("iq", "c2"); e.attr("type") != "error" || !strings.Contains(e.Inner, "precondition-not-met") {
		t.Fatalf("precondition on avatar: %+v", e)
	}
	a.send("<iq type='set' id='c3'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='" + nsAvatar + "'><x xmlns='jabber:x:data' type='submit'>" +
		"<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>" +
		"<field var='pubsub#access_model'><value>open</value></field></x></configure></pubsub></iq>")
	if e := a.expect("iq", "c3"); e.attr("type") != "result" {
		t.Fatalf("configure set: %+v", e)
	}
	a.send("<iq type='set' id='c4'>" + publishOpts(nsAvatar, "h2", "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='h2'/></metadata>", "open") + "</iq>")
	if e := a.expect("iq", "c4"); e.attr("type") != "result" {
		t.Fatalf("publish after configure: %+v", e)
	}
	cl.send("<iq type='get' id='c5' to='alice@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + nsAvatar + "'/></pubsub></iq>")
	if e := cl.expect("iq", "c5"); e.attr("type") != "result" || !strings.Contains(e.Inner, "h2") {
		t.Fatalf("open avatar at carol: %+v", e)
	}

	// Retract with notify, then delete the node.
	a.send("<iq type='set' id='r1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='" + nsAvatar + "' notify='true'><item id='h2'/></retract></pubsub></iq>")
	a.expect("iq", "r1")
	b.expect("message", "<retract id='h2'/>")
	a.send("<iq type='set' id='x1'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='" + nsDevices + "'/></pubsub></iq>")
	if e := a.expect("iq", "x1"); e.attr("type") != "result" {
		t.Fatalf("delete: %+v", e)
	}
	b.expect("message", "<delete node='"+nsDevices+"'/>")
	b.send("<iq type='get' id='i5' to='alice@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + nsDevices + "'/></pubsub></iq>")
	if e := b.expect("iq", "i5"); e.attr("type") != "error" || !strings.Contains(e.Inner, "item-not-found") {
		t.Fatalf("items of a deleted node: %+v", e)
	}
}
