package xmpp

import (
	"strings"
	"testing"
)

// TestRosterDetails checks roster versioning (XEP-0237), that a contact
// that only asked to subscribe is not shown (RFC 6121 §3.1.3), that a
// generated resource is bound when the client names none, and roster
// removal.
func TestRosterDetails(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "", true)
	if !strings.HasPrefix(a.jid, "alice@example.test/ct-") {
		t.Fatalf("generated resource: %q", a.jid)
	}
	b := ts.login(t, bob, "b1", true)
	a.send("<presence to='bob@example.test' type='subscribe'/>")
	b.expect("presence", "subscribe")
	b.send("<iq type='get' id='g1'><query xmlns='jabber:iq:roster'/></iq>")
	e := b.expect("iq", "g1")
	if strings.Contains(e.Inner, "alice") {
		t.Fatalf("a pending-in-only contact is shown: %s", e.Inner)
	}
	var ver string
	if i := strings.Index(e.Inner, "ver='"); i >= 0 {
		ver = e.Inner[i+5 : i+5+strings.IndexByte(e.Inner[i+5:], '\'')]
	}
	b.send("<iq type='get' id='g2'><query xmlns='jabber:iq:roster' ver='" + ver + "'/></iq>")
	if e := b.expect("iq", "g2"); e.attr("type") != "result" || e.Inner != "" {
		t.Fatalf("unchanged roster with ver %q: %+v", ver, e)
	}
	b.send("<presence to='alice@example.test' type='subscribed'/>")
	b.expect("iq", "subscription='from'")
	b.send("<iq type='get' id='g3'><query xmlns='jabber:iq:roster' ver='" + ver + "'/></iq>")
	if e := b.expect("iq", "g3"); !strings.Contains(e.Inner, "alice@example.test") {
		t.Fatalf("changed roster: %+v", e)
	}
	b.send("<iq type='set' id='rm'><query xmlns='jabber:iq:roster'><item jid='alice@example.test' subscription='remove'/></query></iq>")
	b.expect("iq", "subscription='remove'")
	b.send("<iq type='set' id='rm2'><query xmlns='jabber:iq:roster'><item jid='nobody@example.test' subscription='remove'/></query></iq>")
	if e := b.expect("iq", "rm2"); !strings.Contains(e.Inner, "item-not-found") {
		t.Fatalf("removing an unknown item: %+v", e)
	}
	b.send("<iq type='set' id='two'><query xmlns='jabber:iq:roster'><item jid='x@example.test'/><item jid='y@example.test'/></query></iq>")
	if e := b.expect("iq", "two"); !strings.Contains(e.Inner, "bad-request") {
		t.Fatalf("two items in a set: %+v", e)
	}
}

// TestDirectedPresenceAndProbe checks directed presence to a non-contact
// (and its unavailable on logout, RFC 6121 §4.6) and a probe answered for a
// subscribed contact only (§4.3).
func TestDirectedPresenceAndProbe(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	a.send("<presence to='bob@example.test/b1'><show>chat</show></presence>")
	if e := b.expect("presence", "chat"); e.attr("from") != "alice@example.test/a1" {
		t.Fatalf("directed presence: %+v", e)
	}
	b.send("<presence to='alice@example.test' type='probe'/>")
	b.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>")
	if e := b.next(); e.XMLName.Local != "iq" || e.attr("id") != "sync" {
		t.Fatalf("a probe from a non-subscriber was answered: %+v", e)
	}
	a.send("<presence type='unavailable'/>")
	if e := b.expect("presence", "unavailable"); e.attr("from") != "alice@example.test/a1" {
		t.Fatalf("unavailable after directed presence: %+v", e)
	}
}

// TestPreApprovalAndAccountDisco checks subscription pre-approval (RFC 6121
// §3.4): a contact pre-approved is subscribed without a prompt; and that
// an account's disco#info is answered only to its subscribers.
func TestPreApprovalAndAccountDisco(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	b.send("<iq type='get' id='d0' to='alice@example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := b.expect("iq", "d0"); !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("disco of an account to a stranger: %+v", e)
	}
	a.send("<presence to='bob@example.test' type='subscribed'/>") // pre-approval
	a.expect("iq", "bob@example.test")
	b.send("<presence to='alice@example.test' type='subscribe'/>")
	var subscribed, available bool
	for range 10 {
		e := b.next()
		subscribed = subscribed || e.XMLName.Local == "iq" && strings.Contains(e.Inner, "subscription='to'")
		available = available || e.XMLName.Local == "presence" && e.attr("from") == "alice@example.test/a1" && e.attr("type") == ""
		if subscribed && available {
			break
		}
	}
	if !subscribed || !available {
		t.Fatalf("after a pre-approved subscribe: subscribed %v, alice's presence %v", subscribed, available)
	}
	b.send("<iq type='get' id='d1' to='alice@example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := b.expect("iq", "d1"); !strings.Contains(e.Inner, "category='account'") {
		t.Fatalf("disco of an account to a subscriber: %+v", e)
	}
}
