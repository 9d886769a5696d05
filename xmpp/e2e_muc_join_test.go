package xmpp

import (
	"strings"
	"testing"
)

const nsMUCOwner = "http://jabber.org/protocol/muc#owner"

// joinRoom sends a join and waits for the self-presence (status 110).
func joinRoom(t testing.TB, c *client, roomNick, x string) el {
	t.Helper()
	c.send("<presence to='" + roomNick + "'><x xmlns='http://jabber.org/protocol/muc'>" + x + "</x></presence>")
	e := c.expect("presence", "code='110'")
	if e.attr("from") != roomNick || e.attr("type") != "" {
		t.Fatalf("self-presence for %s: %+v", roomNick, e)
	}
	return e
}

// configure submits a muc#owner form with the given fields and expects a
// result.
func configure(t *testing.T, c *client, room, id string, fields map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("<iq type='set' id='" + id + "' to='" + room + "'><query xmlns='" + nsMUCOwner + "'><x xmlns='jabber:x:data' type='submit'>" +
		"<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>")
	for k, v := range fields {
		b.WriteString("<field var='" + k + "'><value>" + v + "</value></field>")
	}
	b.WriteString("</x></query></iq>")
	c.send(b.String())
	if e := c.expect("iq", id); e.attr("type") != "result" {
		t.Fatalf("configure %v: %+v", fields, e)
	}
}

// expectStanzaError waits for an error <local/> carrying a condition of the
// given type.
func expectStanzaError(t *testing.T, c *client, local, cond, typ string) el {
	t.Helper()
	e := c.expect(local, cond)
	if e.attr("type") != "error" || !strings.Contains(e.Inner, "type='"+typ+"'") {
		t.Fatalf("want %s error %s/%s, got %+v", local, typ, cond, e)
	}
	return e
}

// TestMUCJoinErrors checks every way a join fails and the XEP-0045 §7.2
// condition each gets: conflict, jid-malformed, not-authorized,
// service-unavailable, registration-required, forbidden, and item-not-found
// for a room that does not exist.
func TestMUCJoinErrors(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.login(t, ts.user(t, "alice"), "a1", true)
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	const room = "club@conference.example.test"
	joinRoom(t, a, room+"/Alice", "")

	b.send("<presence to='" + room + "/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	if e := expectStanzaError(t, b, "presence", "conflict", "cancel"); e.attr("from") != room+"/Alice" || !strings.Contains(e.Inner, "<x xmlns='http://jabber.org/protocol/muc'/>") {
		t.Fatalf("conflict: %+v", e)
	}
	b.send("<presence to='" + room + "'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	expectStanzaError(t, b, "presence", "jid-malformed", "modify")
	b.send("<presence to='" + room + "/'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	expectStanzaError(t, b, "presence", "jid-malformed", "modify")
	b.send("<presence to='" + room + "/" + strings.Repeat("n", 1100) + "'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	expectStanzaError(t, b, "presence", "jid-malformed", "modify")

	configure(t, a, room, "pw", map[string]string{"muc#roomconfig_passwordprotectedroom": "1", "muc#roomconfig_roomsecret": "s3cret ☕"})
	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	expectStanzaError(t, b, "presence", "not-authorized", "auth")
	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'><password>wrong</password></x></presence>")
	if e := expectStanzaError(t, b, "presence", "not-authorized", "auth"); strings.Contains(e.Inner, "wrong") {
		t.Fatalf("join error echoes the password: %+v", e)
	}
	joinRoom(t, b, room+"/Bob", "<password>s3cret ☕</password>")
	b.send("<presence to='" + room + "/Bob' type='unavailable'/>")
	b.expect("presence", "unavailable")

	configure(t, a, room, "full", map[string]string{"muc#roomconfig_passwordprotectedroom": "0", "muc#roomconfig_maxusers": "1"})
	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	expectStanzaError(t, b, "presence", "service-unavailable", "wait")

	configure(t, a, room, "mo", map[string]string{"muc#roomconfig_maxusers": "0", "muc#roomconfig_membersonly": "1"})
	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	expectStanzaError(t, b, "presence", "registration-required", "auth")

	configure(t, a, room, "open", map[string]string{"muc#roomconfig_membersonly": "0"})
	a.send("<iq type='set' id='ban' to='" + room + "'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='bob@example.test'><reason>spam</reason></item></query></iq>")
	if e := a.expect("iq", "ban"); e.attr("type") != "result" {
		t.Fatalf("ban: %+v", e)
	}
	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	expectStanzaError(t, b, "presence", "forbidden", "auth")

	const none = "nowhere@conference.example.test"
	b.send("<iq type='get' id='nf1' to='" + none + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	expectStanzaError(t, b, "iq", "item-not-found", "cancel")
	b.send("<iq type='get' id='nf2' to='" + none + "'><query xmlns='" + nsMUCOwner + "'/></iq>")
	expectStanzaError(t, b, "iq", "item-not-found", "cancel")
	b.send("<message to='" + none + "' type='groupchat'><body>anyone?</body></message>")
	expectStanzaError(t, b, "message", "item-not-found", "cancel")
}

// TestMUCPresenceAndSubject checks a nickname change (303), a presence
// update, subject changes by a moderator and their refusal to a
// participant, private messages (bad-request as groupchat, item-not-found
// to an unknown nick), not-acceptable for a non-occupant's groupchat, the subject
// and limited history on a later join, a direct invitation (XEP-0249)
// passing through as an ordinary message, and a mediated invitation
// declined (XEP-0045 §7.8.2).
func TestMUCPresenceAndSubject(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.login(t, ts.user(t, "alice"), "a1", true)
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	c := ts.login(t, ts.user(t, "carol"), "c1", true)
	const room = "cafe@conference.example.test"
	joinRoom(t, a, room+"/Alice", "")
	a.expect("message", "subject")
	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	if e := b.expect("presence", room+"/Alice"); strings.Contains(e.Inner, "jid=") || !strings.Contains(e.Inner, "<occupant-id xmlns='urn:xmpp:occupant-id:0'") {
		t.Fatalf("a semi-anonymous room shows a participant real JIDs, or no occupant-id: %+v", e)
	}
	b.expect("presence", "code='110'")
	seen := a.expect("presence", room+"/Bob")
	if !strings.Contains(seen.Inner, "jid='bob@example.test/b1'") {
		t.Fatalf("a moderator does not see the real JID: %+v", seen)
	}

	b.send("<presence to='" + room + "/Robert'/>")
	if e := a.expect("presence", "code='303'"); e.attr("from") != room+"/Bob" || e.attr("type") != "unavailable" || !strings.Contains(e.Inner, "nick='Robert'") {
		t.Fatalf("nick change seen by alice: %+v", e)
	}
	if e := a.expect("presence", room+"/Robert"); e.attr("type") != "" {
		t.Fatalf("new nick seen by alice: %+v", e)
	}
	if e := b.expect("presence", "code='303'"); !strings.Contains(e.Inner, "code='110'") {
		t.Fatalf("own nick change without 110: %+v", e)
	}
	b.send("<presence to='" + room + "/Robert'><show>away</show><status>brb ☕</status></presence>")
	if e := a.expect("presence", "brb ☕"); e.attr("from") != room+"/Robert" || !strings.Contains(e.Inner, "<show>away</show>") {
		t.Fatalf("presence update: %+v", e)
	}

	a.send("<message to='" + room + "' type='groupchat'><subject>Tagesordnung: Kaffee</subject></message>")
	for _, cl := range []*client{a, b} {
		if e := cl.expect("message", "Tagesordnung"); e.attr("from") != room+"/Alice" || e.attr("type") != "groupchat" {
			t.Fatalf("subject change: %+v", e)
		}
	}
	b.send("<message to='" + room + "/Alice' type='groupchat'><body>psst</body></message>")
	expectStanzaError(t, b, "message", "bad-request", "modify")
	b.send("<message to='" + room + "/Alice' type='chat'><body>psst ☕</body></message>")
	if e := a.expect("message", "psst ☕"); e.attr("from") != room+"/Robert" || e.attr("type") != "chat" {
		t.Fatalf("private message: %+v", e)
	}
	b.send("<message to='" + room + "/Nobody' type='chat'><body>hallo?</body></message>")
	expectStanzaError(t, b, "message", "item-not-found", "cancel")
	b.send("<message to='" + room + "' type='groupchat'><subject>mine now</subject></message>")
	expectStanzaError(t, b, "message", "forbidden", "auth")

	for _, body := range []string{"eins", "zwei", "drei"} {
		a.send("<message to='" + room + "' type='groupchat'><body>" + body + "</body></message>")
		a.expect("message", body)
	}
	c.send("<message to='" + room + "' type='groupchat'><body>von außen</body></message>")
	expectStanzaError(t, c, "message", "not-acceptable", "modify")
	c.send("<presence to='" + room + "/Carol'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='1'/></x></presence>")
	c.expect("presence", "code='110'")
	var got []string
	for range 5 {
		e := c.next()
		if e.XMLName.Local != "message" {
			continue
		}
		got = append(got, e.Inner)
		if strings.Contains(e.Inner, "<subject>") {
			break
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "drei") || !strings.Contains(got[0], "urn:xmpp:delay") || !strings.Contains(got[1], "Tagesordnung") {
		t.Fatalf("history then subject: %q", got)
	}

	d := ts.login(t, ts.user(t, "dave"), "d1", true)
	stillWorks(t, d) // a round trip: dave's initial presence is in before the invitation to his bare JID
	a.send("<message to='dave@example.test' id='di1'><x xmlns='jabber:x:conference' jid='" + room + "' reason='komm vorbei'/></message>")
	if e := d.expect("message", "jabber:x:conference"); !strings.HasPrefix(e.attr("from"), "alice@example.test/") || !strings.Contains(e.Inner, "komm vorbei") {
		t.Fatalf("direct invitation: %+v", e)
	}
	a.send("<message to='" + room + "'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='dave@example.test'/></x></message>")
	if e := d.expect("message", "<invite"); !strings.Contains(e.Inner, "<body>alice@example.test invites you to "+room+"</body>") {
		t.Fatalf("mediated invitation without a body for clients without MUC: %+v", e)
	}
	d.send("<message to='" + room + "'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='alice@example.test'><reason>keine Zeit</reason></decline></x></message>")
	if e := a.expect("message", "decline"); e.attr("from") != room || !strings.Contains(e.Inner, "from='dave@example.test'") || !strings.Contains(e.Inner, "keine Zeit") {
		t.Fatalf("declined invitation: %+v", e)
	}
	d.send("<message to='" + room + "'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='stranger@example.test'/></x></message>")
	expectStanzaError(t, d, "message", "item-not-found", "cancel")
}

// TestMUCPrivateNoCarbons checks that private messages to and from a room
// occupant are not carbon-copied to the account's resources outside the
// room (XEP-0280 §6), while ordinary chat still is.
func TestMUCPrivateNoCarbons(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	a1 := ts.login(t, alice, "a1", true)
	a2 := ts.login(t, alice, "a2", true)
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	a2.send("<iq type='set' id='cb'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	a2.expect("iq", "cb")
	const room = "pm@conference.example.test"
	joinRoom(t, a1, room+"/Alice", "")
	joinRoom(t, b, room+"/Bob", "")
	b.send("<message to='" + room + "/Alice' type='chat'><body>nur für dich</body></message>")
	a1.expect("message", "nur für dich")
	a1.send("<message to='" + room + "/Bob' type='chat'><body>danke</body></message>")
	b.expect("message", "danke")
	b.send("<message to='alice@example.test/a1' type='chat'><body>direkt</body></message>")
	if e := a2.expect("message", "urn:xmpp:carbons:2"); !strings.Contains(e.Inner, "direkt") {
		t.Fatalf("a room private message was carbon-copied: %+v", e)
	}
}
