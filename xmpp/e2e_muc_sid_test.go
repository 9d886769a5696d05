package xmpp

import (
	"regexp"
	"strings"
	"testing"
)

// TestMUCStanzaID: a live groupchat message carries the room's XEP-0359
// <stanza-id/>, equal to its id in the room's archive (XEP-0313) and in
// the history a later occupant gets; a stanza-id forged by the sender in
// the room's name is stripped; the room advertises urn:xmpp:sid:0.
func TestMUCStanzaID(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	const room = "sid@conference.example.test"
	sid := regexp.MustCompile(`<stanza-id xmlns='urn:xmpp:sid:0' id='([0-9a-v]{13})' by='` + regexp.QuoteMeta(room) + `'/>`)

	a.send("<presence to='" + room + "/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
	a.expect("presence", "code='110'")
	a.expect("message", "subject")
	a.send("<message to='" + room + "' type='groupchat' id='m1'><body>mit Kennung</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/>" +
		"<stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='" + room + "'/></message>")
	echo := a.expect("message", "mit Kennung")
	all := sid.FindAllStringSubmatch(echo.Inner, -1)
	if len(all) != 1 || strings.Contains(echo.Inner, "forged") || !strings.Contains(echo.Inner, "origin-id") {
		t.Fatalf("live message: %s", echo.Inner)
	}
	live := all[0][1]

	a.send("<iq type='set' id='mam' to='" + room + "'><query xmlns='urn:xmpp:mam:2' queryid='q'/></iq>")
	var resultID string
	for range 4 {
		e := a.next()
		if e.XMLName.Local == "iq" {
			break
		}
		if m := regexp.MustCompile(`<result xmlns='urn:xmpp:mam:2' queryid='q' id='([^']+)'`).FindStringSubmatch(e.Inner); m != nil && strings.Contains(e.Inner, "mit Kennung") {
			resultID = m[1]
		}
	}
	if resultID != live {
		t.Fatalf("archive id %q, live stanza-id %q", resultID, live)
	}

	b.send("<presence to='" + room + "/Bob'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='5'/></x></presence>")
	hist := b.expect("message", "mit Kennung")
	if m := sid.FindStringSubmatch(hist.Inner); m == nil || m[1] != live {
		t.Fatalf("history: %s", hist.Inner)
	}

	a.send("<iq type='get' id='info' to='" + room + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := a.expect("iq", "info"); !strings.Contains(e.Inner, "urn:xmpp:sid:0") {
		t.Fatalf("room features: %s", e.Inner)
	}
}
