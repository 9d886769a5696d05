package xmpp

import (
	"strings"
	"testing"
)

// TestBlocking checks XEP-0191: block, the push to the other resource,
// the blocklist, refused delivery, and unblock.
func TestBlocking(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a1 := ts.login(t, alice, "a1", true)
	a2 := ts.login(t, alice, "a2", true)
	b := ts.login(t, bob, "b1", true)
	a1.send("<iq type='set' id='bl1'><block xmlns='urn:xmpp:blocking'><item jid='bob@example.test'/></block></iq>")
	a1.expect("iq", "bl1")
	if e := a2.expect("iq", "block"); e.attr("type") != "set" || !strings.Contains(e.Inner, "bob@example.test") {
		t.Fatalf("block push: %+v", e)
	}
	a1.send("<iq type='get' id='bl2'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
	if e := a1.expect("iq", "bl2"); !strings.Contains(e.Inner, "<item jid='bob@example.test'/>") {
		t.Fatalf("blocklist: %+v", e)
	}
	b.send("<message to='alice@example.test' type='chat' id='x1'><body>hello?</body></message>")
	if e := b.expect("message", "x1"); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("blocked message: %+v", e)
	}
	a1.send("<iq type='set' id='bl3'><unblock xmlns='urn:xmpp:blocking'/></iq>")
	a1.expect("iq", "bl3")
	b.send("<message to='alice@example.test/a1' type='chat'><body>now?</body></message>")
	a1.expect("message", "now?")
}
