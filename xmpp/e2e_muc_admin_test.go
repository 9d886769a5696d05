package xmpp

import (
	"fmt"
	"strings"
	"testing"
)

const nsMUCAdmin = "http://jabber.org/protocol/muc#admin"

// adminSet sends one muc#admin item and returns the answer.
func adminSet(c *client, room, id, item string) el {
	c.t.Helper()
	c.send("<iq type='set' id='" + id + "' to='" + room + "'><query xmlns='" + nsMUCAdmin + "'>" + item + "</query></iq>")
	return c.expect("iq", id)
}

// TestMUCOwnerAdmin checks instant-room acceptance, the owner form and its
// refusal to others, configuration change notices (104, 172, 173), room
// discovery (public list, muc_* features, the
// muc#roominfo form), affiliation and role lists, voice (granted by a moderator and on request,
// XEP-0045 §7.13), ban by nickname,
// promotion to admin, self-ping (XEP-0410), an IQ relayed between occupants
// and its answer (§17.4), an unhandled IQ to a room and
// destruction.
func TestMUCOwnerAdmin(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.login(t, ts.user(t, "alice"), "a1", true)
	b := ts.login(t, ts.user(t, "bob"), "b1", true)
	c := ts.login(t, ts.user(t, "carol"), "c1", true)
	const room = "board@conference.example.test"
	if self := joinRoom(t, a, room+"/Alice", ""); !strings.Contains(self.Inner, "code='201'") || !strings.Contains(self.Inner, "urn:xmpp:occupant-id:0") {
		t.Fatalf("creation: %+v", self)
	}
	a.send("<iq type='set' id='inst' to='" + room + "'><query xmlns='" + nsMUCOwner + "'><x xmlns='jabber:x:data' type='submit'/></query></iq>")
	if e := a.expect("iq", "inst"); e.attr("type") != "result" {
		t.Fatalf("instant room: %+v", e)
	}
	a.send("<iq type='get' id='form' to='" + room + "'><query xmlns='" + nsMUCOwner + "'/></iq>")
	form := a.expect("iq", "form")
	for _, v := range []string{"muc#roomconfig_roomname", "muc#roomconfig_roomdesc", "muc#roomconfig_persistentroom", "muc#roomconfig_membersonly",
		"muc#roomconfig_moderatedroom", "muc#roomconfig_passwordprotectedroom", "muc#roomconfig_roomsecret", "muc#roomconfig_maxusers",
		"muc#roomconfig_historylength", "muc#roomconfig_publicroom", "muc#roomconfig_whois", "muc#roomconfig_changesubject", "<option"} {
		if !strings.Contains(form.Inner, v) {
			t.Errorf("owner form lacks %s", v)
		}
	}
	configure(t, a, room, "cfg", map[string]string{"muc#roomconfig_roomname": "Vorstand ☕", "muc#roomconfig_roomdesc": "Beschlüsse",
		"muc#roomconfig_persistentroom": "1", "muc#roomconfig_publicroom": "1", "muc#roomconfig_whois": "anyone"})

	joinRoom(t, b, room+"/Bob", "")
	joinRoom(t, c, room+"/Carol", "")
	b.send("<iq type='get' id='bform' to='" + room + "'><query xmlns='" + nsMUCOwner + "'/></iq>")
	expectStanzaError(t, b, "iq", "forbidden", "auth")
	b.send("<iq type='set' id='bcfg' to='" + room + "'><query xmlns='" + nsMUCOwner + "'><x xmlns='jabber:x:data' type='submit'/></query></iq>")
	expectStanzaError(t, b, "iq", "forbidden", "auth")

	b.send("<iq type='get' id='items' to='conference.example.test'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
	if e := b.expect("iq", "items"); !strings.Contains(e.Inner, "jid='"+room+"'") || !strings.Contains(e.Inner, "name='Vorstand ☕'") {
		t.Fatalf("public rooms: %+v", e)
	}
	b.send("<iq type='get' id='sinfo' to='conference.example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := b.expect("iq", "sinfo"); !strings.Contains(e.Inner, "urn:xmpp:occupant-id:0") || !strings.Contains(e.Inner, "urn:xmpp:mam:2") {
		t.Fatalf("service info: %+v", e)
	}
	b.send("<iq type='get' id='rinfo' to='" + room + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	info := b.expect("iq", "rinfo")
	for _, v := range []string{"name='Vorstand ☕'", "muc_persistent", "muc_public", "muc_nonanonymous", "muc_open", "muc_unmoderated", "muc_unsecured",
		"muc#self-ping-optimization", "http://jabber.org/protocol/muc#roominfo", "<value>Beschlüsse</value>", "muc#roominfo_occupants' label='Number of occupants'><value>3</value>"} {
		if !strings.Contains(info.Inner, v) {
			t.Errorf("room info lacks %s: %s", v, info.Inner)
		}
	}

	configure(t, a, room, "cfg2", map[string]string{"muc#roomconfig_whois": "moderators"})
	if e := b.expect("message", "code='104'"); e.attr("from") != room || e.attr("type") != "groupchat" || !strings.Contains(e.Inner, "code='173'") {
		t.Fatalf("configuration change notice: %+v", e)
	}
	configure(t, a, room, "cfg3", map[string]string{"muc#roomconfig_whois": "anyone"})
	if e := b.expect("message", "code='104'"); !strings.Contains(e.Inner, "code='172'") {
		t.Fatalf("configuration change notice: %+v", e)
	}

	if e := adminSet(a, room, "mem", "<item affiliation='member' jid='bob@example.test'/>"); e.attr("type") != "result" {
		t.Fatalf("member: %+v", e)
	}
	if e := c.expect("presence", "affiliation='member'"); e.attr("from") != room+"/Bob" {
		t.Fatalf("membership seen: %+v", e)
	}
	a.send("<iq type='get' id='lm' to='" + room + "'><query xmlns='" + nsMUCAdmin + "'><item affiliation='member'/></query></iq>")
	if e := a.expect("iq", "lm"); e.attr("type") != "result" || !strings.Contains(e.Inner, "jid='bob@example.test'") || strings.Contains(e.Inner, "alice@") {
		t.Fatalf("member list: %+v", e)
	}
	b.send("<iq type='get' id='blo' to='" + room + "'><query xmlns='" + nsMUCAdmin + "'><item affiliation='owner'/></query></iq>")
	expectStanzaError(t, b, "iq", "forbidden", "auth")
	a.send("<iq type='get' id='lmod' to='" + room + "'><query xmlns='" + nsMUCAdmin + "'><item role='moderator'/></query></iq>")
	if e := a.expect("iq", "lmod"); !strings.Contains(e.Inner, "nick='Alice'") || strings.Contains(e.Inner, "nick='Bob'") {
		t.Fatalf("moderator list: %+v", e)
	}

	if e := adminSet(a, room, "mute", "<item nick='Carol' role='visitor'><reason>ruhig</reason></item>"); e.attr("type") != "result" {
		t.Fatalf("revoke voice: %+v", e)
	}
	c.expect("presence", "role='visitor'")
	c.send("<message to='" + room + "' type='groupchat'><body>darf ich?</body></message>")
	expectStanzaError(t, c, "message", "forbidden", "auth")
	c.send("<message to='" + room + "'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>" +
		"<field var='muc#role' type='list-single'><value>participant</value></field></x></message>")
	req := a.expect("message", "muc#request")
	if req.attr("from") != room || !strings.Contains(req.Inner, "<value>Carol</value>") || !strings.Contains(req.Inner, "muc#request_allow") {
		t.Fatalf("voice request at the moderator: %+v", req)
	}
	b.send("<message to='" + room + "'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>" +
		"<field var='muc#roomnick'><value>Carol</value></field><field var='muc#request_allow'><value>true</value></field></x></message>")
	expectStanzaError(t, b, "message", "forbidden", "auth") // bob is no moderator
	a.send("<message to='" + room + "'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>" +
		"<field var='muc#roomnick'><value>Carol</value></field><field var='muc#request_allow'><value>true</value></field></x></message>")
	c.expect("presence", "role='participant'")
	adminSet(a, room, "mute2", "<item nick='Carol' role='visitor'/>")
	c.expect("presence", "role='visitor'")
	adminSet(a, room, "voice", "<item nick='Carol' role='participant'/>")
	c.expect("presence", "role='participant'")
	c.send("<message to='" + room + "' type='groupchat'><body>jetzt ja</body></message>")
	c.expect("message", "jetzt ja")
	if e := adminSet(b, room, "bkick", "<item nick='Carol' role='none'/>"); e.attr("type") != "error" || !strings.Contains(e.Inner, "forbidden") {
		t.Fatalf("participant kicks: %+v", e)
	}

	c.send("<iq type='get' id='sp1' to='" + room + "/Carol'><ping xmlns='urn:xmpp:ping'/></iq>")
	if e := c.expect("iq", "sp1"); e.attr("type") != "result" {
		t.Fatalf("self-ping while joined: %+v", e)
	}
	c.send("<iq type='get' id='sp2' to='" + room + "/Nobody'><ping xmlns='urn:xmpp:ping'/></iq>")
	expectStanzaError(t, c, "iq", "item-not-found", "cancel")
	c.send("<iq type='get' id='vc' to='" + room + "'><vCard xmlns='vcard-temp'/></iq>")
	expectStanzaError(t, c, "iq", "service-unavailable", "cancel")
	c.send("<iq type='get' id='reg' to='conference.example.test'><query xmlns='jabber:iq:register'/></iq>")
	expectStanzaError(t, c, "iq", "service-unavailable", "cancel")
	c.send("<iq type='get' id='ver' to='" + room + "/Bob'><query xmlns='jabber:iq:version'/></iq>")
	relayed := b.expect("iq", "jabber:iq:version")
	if relayed.attr("from") != room+"/Carol" || relayed.attr("to") != "bob@example.test/b1" || relayed.attr("id") != "ver" {
		t.Fatalf("IQ relayed to the occupant: %+v", relayed)
	}
	b.send("<iq type='result' id='ver' to='" + room + "/Carol'><query xmlns='jabber:iq:version'><name>raw-test</name></query></iq>")
	if e := c.expect("iq", "ver"); e.attr("from") != room+"/Bob" || e.attr("type") != "result" || !strings.Contains(e.Inner, "raw-test") || strings.Contains(fmt.Sprint(e.Attrs), "bob@") {
		t.Fatalf("answer relayed from the occupant: %+v", e)
	}
	c.send("<iq type='get' id='ver2' to='" + room + "/Nobody'><query xmlns='jabber:iq:version'/></iq>")
	expectStanzaError(t, c, "iq", "item-not-found", "cancel")

	if e := adminSet(a, room, "ban", "<item nick='Carol' affiliation='outcast'><reason>genug</reason></item>"); e.attr("type") != "result" {
		t.Fatalf("ban by nick: %+v", e)
	}
	if e := c.expect("presence", "code='301'"); e.attr("type") != "unavailable" || !strings.Contains(e.Inner, "genug") {
		t.Fatalf("banned: %+v", e)
	}
	c.send("<iq type='get' id='sp3' to='" + room + "/Carol'><ping xmlns='urn:xmpp:ping'/></iq>")
	expectStanzaError(t, c, "iq", "not-acceptable", "cancel")
	c.send("<iq type='set' id='cmam' to='" + room + "'><query xmlns='urn:xmpp:mam:2'/></iq>")
	expectStanzaError(t, c, "iq", "forbidden", "auth")
	a.send("<iq type='get' id='lout' to='" + room + "'><query xmlns='" + nsMUCAdmin + "'><item affiliation='outcast'/></query></iq>")
	if e := a.expect("iq", "lout"); !strings.Contains(e.Inner, "jid='carol@example.test'") {
		t.Fatalf("outcast list: %+v", e)
	}

	adminSet(a, room, "adm", "<item affiliation='admin' jid='bob@example.test'/>")
	if e := b.expect("presence", "affiliation='admin'"); !strings.Contains(e.Inner, "role='moderator'") {
		t.Fatalf("admin is a moderator: %+v", e)
	}
	configure(t, a, room, "hide", map[string]string{"muc#roomconfig_publicroom": "0"})
	b.send("<iq type='get' id='items2' to='conference.example.test'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
	if e := b.expect("iq", "items2"); strings.Contains(e.Inner, room) {
		t.Fatalf("a hidden room is listed: %+v", e)
	}
	a.send("<iq type='set' id='destroy' to='" + room + "'><query xmlns='" + nsMUCOwner + "'><destroy><reason>Ende</reason></destroy></query></iq>")
	a.expect("iq", "destroy")
	if e := b.expect("presence", "unavailable"); !strings.Contains(e.Inner, "<destroy><reason>Ende</reason></destroy>") {
		t.Fatalf("destroyed: %+v", e)
	}
	b.send("<iq type='get' id='gone' to='" + room + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	expectStanzaError(t, b, "iq", "item-not-found", "cancel")
}
