package xmpp

import (
	"strings"
	"testing"
)

// itemsOf fetches the items of one of c's own PEP nodes.
func itemsOf(c *client, id, node string) el {
	c.t.Helper()
	c.send("<iq type='get' id='" + id + "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + node + "'/></pubsub></iq>")
	return c.expect("iq", id)
}

// untilIQ reads up to the answer with id and returns the messages before it.
func untilIQ(c *client, id string) []el {
	c.t.Helper()
	var msgs []el
	for range 50 {
		e := c.next()
		if e.XMLName.Local == "iq" && e.attr("id") == id {
			return msgs
		}
		if e.XMLName.Local == "message" {
			msgs = append(msgs, e)
		}
	}
	c.t.Fatalf("no answer %s", id)
	return nil
}

// eventWith returns the first message containing s.
func eventWith(t *testing.T, msgs []el, s string) el {
	t.Helper()
	for _, m := range msgs {
		if strings.Contains(m.Inner, s) {
			return m
		}
	}
	t.Fatalf("no event with %q among %d", s, len(msgs))
	return el{}
}

// TestBookmarksCompatPEP: XEP-0402 bookmarks and the PEP form of XEP-0048
// are kept in step both ways, with notifications; bookmark nodes are
// private (whitelist) even when created without publish options; the
// account advertises urn:xmpp:bookmarks:1#compat-pep.
func TestBookmarksCompatPEP(t *testing.T) {
	ts := startServer(t, nil)
	alice, carol := ts.user(t, "alice"), ts.user(t, "carol")
	a := ts.login(t, alice, "a1", true)
	c := ts.login(t, carol, "c1", true)
	const (
		b2     = "urn:xmpp:bookmarks:1"
		legacy = "storage:bookmarks"
		room1  = "treff@conference.example.test"
		room2  = "zwei@conference.example.test"
	)
	features, caps := pepCaps(b2, legacy)
	a.send("<presence>" + caps + "</presence>")
	answerCaps(a, features)

	a.send("<iq type='get' id='info' to='alice@example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := a.expect("iq", "info"); !strings.Contains(e.Inner, "urn:xmpp:bookmarks:1#compat-pep") {
		t.Fatalf("account features: %s", e.Inner)
	}

	// XEP-0402 → XEP-0048.
	a.send("<iq type='set' id='p1'>" + publishOpts(b2, room1,
		"<conference xmlns='urn:xmpp:bookmarks:1' name='Treff ☕' autojoin='true'><nick>Al</nick><password>pw</password>"+
			"<extensions><state xmlns='urn:example'/></extensions></conference>", "whitelist") + "</iq>")
	ev := eventWith(t, untilIQ(a, "p1"), "storage:bookmarks")
	if !strings.Contains(ev.Inner, "<conference jid='"+room1+"' name='Treff ☕' autojoin='true'><nick>Al</nick><password>pw</password></conference>") {
		t.Fatalf("XEP-0048 event after an XEP-0402 publish: %s", ev.Inner)
	}
	if e := itemsOf(a, "i1", legacy); !strings.Contains(e.Inner, "item id='current'") || !strings.Contains(e.Inner, "jid='"+room1+"'") {
		t.Fatalf("XEP-0048 item: %s", e.Inner)
	}

	// XEP-0048 → XEP-0402: a changed room, a new one, a url kept; no publish options, still private.
	a.send("<iq type='set' id='p2'>" + publishOpts(legacy, "current",
		"<storage xmlns='storage:bookmarks'><conference jid='"+room1+"' name='Neu' autojoin='true'><nick>Al</nick></conference>"+
			"<conference jid='"+room2+"' name='Zwei'/><url name='Home' url='https://example.test/'/></storage>", "") + "</iq>")
	a.expect("iq", "p2")
	e := itemsOf(a, "i2", b2)
	if !strings.Contains(e.Inner, "item id='"+room1+"'><conference xmlns='urn:xmpp:bookmarks:1' name='Neu' autojoin='true'><nick>Al</nick><extensions><state xmlns='urn:example'/></extensions></conference>") ||
		!strings.Contains(e.Inner, "item id='"+room2+"'><conference xmlns='urn:xmpp:bookmarks:1' name='Zwei'></conference>") {
		t.Fatalf("XEP-0402 items after an XEP-0048 publish: %s", e.Inner)
	}
	c.send("<iq type='get' id='c1' to='alice@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + legacy + "'/></pubsub></iq>")
	if e := c.expect("iq", "c1"); e.attr("type") != "error" || !strings.Contains(e.Inner, "closed-node") {
		t.Fatalf("XEP-0048 node readable by a stranger: %+v", e)
	}

	// XEP-0048 without room1: its XEP-0402 item is retracted, with a notification.
	a.send("<iq type='set' id='p3'>" + publishOpts(legacy, "current",
		"<storage xmlns='storage:bookmarks'><conference jid='"+room2+"' name='Zwei'/><url name='Home' url='https://example.test/'/></storage>", "") + "</iq>")
	if ev := eventWith(t, untilIQ(a, "p3"), "retract"); !strings.Contains(ev.Inner, "<retract id='"+room1+"'/>") {
		t.Fatalf("retraction: %s", ev.Inner)
	}
	if e := itemsOf(a, "i3", b2); strings.Contains(e.Inner, room1) || !strings.Contains(e.Inner, room2) {
		t.Fatalf("XEP-0402 items after removal: %s", e.Inner)
	}

	// XEP-0402 retract → XEP-0048 without the room, url kept.
	a.send("<iq type='set' id='r1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='" + b2 + "' notify='true'><item id='" + room2 + "'/></retract></pubsub></iq>")
	a.expect("iq", "r1")
	if e := itemsOf(a, "i4", legacy); strings.Contains(e.Inner, "conference") || !strings.Contains(e.Inner, "<url name='Home' url='https://example.test/'/>") {
		t.Fatalf("XEP-0048 after an XEP-0402 retract: %s", e.Inner)
	}
}
