package xmpp

import (
	"strings"
	"testing"
)

// TestMUC checks XEP-0045 through the hub's room service: discovery, join
// with the self-presence codes, occupants seeing each other, groupchat
// with the room as sender, history with a delay on a later join, the
// subject, a private message, a nickname conflict, kick, and leaving.
func TestMUC(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob, carol := ts.user(t, "alice"), ts.user(t, "bob"), ts.user(t, "carol")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	c := ts.login(t, carol, "c1", true)
	const room = "lounge@conference.example.test"

	a.send("<iq type='get' id='di' to='example.test'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
	if e := a.expect("iq", "di"); !strings.Contains(e.Inner, "conference.example.test") {
		t.Fatalf("server items: %s", e.Inner)
	}
	a.send("<iq type='get' id='ds' to='conference.example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := a.expect("iq", "ds"); !strings.Contains(e.Inner, "category='conference'") || !strings.Contains(e.Inner, "http://jabber.org/protocol/muc") {
		t.Fatalf("service info: %s", e.Inner)
	}

	a.send("<presence to='" + room + "/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	self := a.expect("presence", "muc#user")
	if self.attr("from") != room+"/Alice" || !strings.Contains(self.Inner, "code='110'") || !strings.Contains(self.Inner, "code='201'") ||
		!strings.Contains(self.Inner, "affiliation='owner'") {
		t.Fatalf("self-presence: %+v", self)
	}
	a.expect("message", "subject")
	a.send("<message to='" + room + "' type='groupchat'><body>first — erste</body></message>")
	if e := a.expect("message", "erste"); e.attr("from") != room+"/Alice" || e.attr("type") != "groupchat" {
		t.Fatalf("groupchat echo: %+v", e)
	}

	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='5'/></x></presence>")
	if e := b.expect("presence", "Alice"); !strings.Contains(e.Inner, "role='moderator'") {
		t.Fatalf("occupant seen by bob: %+v", e)
	}
	b.expect("presence", "code='110'")
	if e := b.expect("message", "erste"); !strings.Contains(e.Inner, "urn:xmpp:delay") || e.attr("from") != room+"/Alice" ||
		strings.Contains(e.Inner+e.attr("from"), "alice@example.test/a1") && !strings.Contains(e.Inner, "jid=") {
		t.Fatalf("history: %+v", e)
	}
	a.expect("presence", room+"/Bob")

	b.send("<message to='" + room + "' type='groupchat'><body>hi all</body></message>")
	if e := a.expect("message", "hi all"); e.attr("from") != room+"/Bob" || strings.Contains(e.attr("from"), "bob@") {
		t.Fatalf("groupchat at alice: %+v", e)
	}
	b.send("<message to='" + room + "/Alice' type='chat'><body>psst</body></message>")
	if e := a.expect("message", "psst"); e.attr("from") != room+"/Bob" {
		t.Fatalf("private message: %+v", e)
	}

	c.send("<iq type='set' id='rmam' to='" + room + "'><query xmlns='urn:xmpp:mam:2' queryid='r1'/></iq>")
	var archived []string
	for range 10 {
		e := c.next()
		if e.XMLName.Local == "iq" {
			if !strings.Contains(e.Inner, "<fin") {
				t.Fatalf("room archive fin: %+v", e)
			}
			break
		}
		if e.XMLName.Local == "message" && e.attr("from") == room {
			archived = append(archived, e.Inner)
		}
	}
	if len(archived) != 2 || !strings.Contains(archived[0], "erste") || !strings.Contains(archived[1], room+"/Bob") {
		t.Fatalf("room archive: %q", archived)
	}
	c.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	if e := c.expect("presence", ""); e.attr("type") != "error" || !strings.Contains(e.Inner, "conflict") {
		t.Fatalf("nickname conflict: %+v", e)
	}
	c.send("<message to='" + room + "' type='groupchat'><body>not in</body></message>")
	if e := c.expect("message", ""); e.attr("type") != "error" {
		t.Fatalf("groupchat from a non-occupant: %+v", e)
	}

	a.send("<message to='" + room + "'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@example.test'><reason>join us</reason></invite></x></message>")
	if e := c.expect("message", "invite"); e.attr("from") != room || !strings.Contains(e.Inner, "from='alice@example.test'") || !strings.Contains(e.Inner, "join us") {
		t.Fatalf("mediated invitation: %+v", e)
	}
	a.send("<iq type='set' id='kick' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Bob' role='none'><reason>bye</reason></item></query></iq>")
	a.expect("iq", "kick")
	if e := b.expect("presence", "code='307'"); e.attr("type") != "unavailable" {
		t.Fatalf("kicked: %+v", e)
	}
	a.send("<iq type='get' id='cfg' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")
	if e := a.expect("iq", "cfg"); !strings.Contains(e.Inner, "muc#roomconfig_roomname") {
		t.Fatalf("config form: %+v", e)
	}
	a.send("<presence to='" + room + "/Alice' type='unavailable'/>")
	if e := a.expect("presence", "unavailable"); !strings.Contains(e.Inner, "code='110'") {
		t.Fatalf("leave: %+v", e)
	}
}
