package xmpp

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"

	"github.com/crosstalk-im/crosstalk"
)

// reauth opens a new connection for user up to the point where a client
// would bind or resume.
func (ts *testServer) reauth(t *testing.T, user crosstalk.Address) *client {
	t.Helper()
	c := dialRaw(t, ts.addr)
	c.open()
	c.startTLS(ts.roots)
	f := c.open()
	if e := c.auth(sasl.ScramSha256, user.Local(), ts.password, mechanisms(f)); e.XMLName.Local != "success" {
		t.Fatalf("auth: %+v", e)
	}
	if f := c.open(); !strings.Contains(f.Inner, "urn:xmpp:sm:3") {
		t.Fatalf("no stream management feature: %s", f.Inner)
	}
	return c
}

// TestStreamResumption checks XEP-0198: counting, acks, a broken
// connection kept for resumption, and the resumed stream getting what the
// client had not acknowledged plus what arrived meanwhile.
func TestStreamResumption(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	a.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	enabled := a.expect("enabled", "")
	id := enabled.attr("id")
	if id == "" || enabled.attr("resume") != "true" {
		t.Fatalf("enabled: %+v", enabled)
	}
	a.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	a.expect("iq", "p1")
	a.send("<r xmlns='urn:xmpp:sm:3'/>")
	if e := a.expect("a", ""); e.attr("h") != "1" {
		t.Fatalf("ack: %+v", e)
	}
	for _, body := range []string{"one", "two"} {
		b.send("<message to='" + a.jid + "' type='chat'><body>" + body + "</body></message>")
		a.expect("message", body)
	}
	_ = a.conn.Close() // the network goes away; no </stream:stream>
	stillWorks(t, b)   // let the server notice while bob goes on
	b.send("<message to='" + a.jid + "' type='chat'><body>three</body></message>")

	c := ts.reauth(t, alice)
	c.send("<resume xmlns='urn:xmpp:sm:3' h='2' previd='" + id + "'/>") // handled: ping result, "one"
	if e := c.expect("resumed", ""); e.attr("previd") != id || e.attr("h") != "1" {
		t.Fatalf("resumed: %+v", e)
	}
	if e := c.expect("message", ""); !strings.Contains(e.Inner, "two") {
		t.Fatalf("first after resume: %+v", e)
	}
	c.expect("message", "three")
	c.send("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("iq", "p2")

	// A wrong id fails, and the client can still bind.
	d := ts.reauth(t, alice)
	d.send("<resume xmlns='urn:xmpp:sm:3' h='0' previd='nope'/>")
	if e := d.expect("failed", ""); !strings.Contains(e.Inner, "item-not-found") {
		t.Fatalf("failed: %+v", e)
	}
	d.send("<iq type='set' id='bind2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	d.expect("iq", "bind2")
}

// TestUnackedGoOffline checks that messages a client never acknowledged are
// stored offline when its session ends without resumption.
func TestUnackedGoOffline(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.ResumeTimeout = 0 })
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	a.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	if e := a.expect("enabled", ""); e.attr("resume") != "" {
		t.Fatalf("resumption granted while disabled: %+v", e)
	}
	b.send("<message to='alice@example.test' type='chat'><body>never acked</body></message>")
	a.expect("message", "never acked")
	_ = a.conn.Close()
	stillWorks(t, b)
	// Wait for the session to end: a login racing the re-routing could meet
	// the hub's check-then-store window (a message stored offline just
	// after the new resource's initial presence claimed the queue).
	ts.waitUnbound(t, alice, "the cut session was never unbound") // gone after its leftovers reached the hub
	c := ts.login(t, alice, "a2", true)
	c.expect("message", "never acked")
}

// waitUnbound waits up to 10 s until user has no bound session on the
// server, and fails with why if one is still there.
func (ts *testServer) waitUnbound(t *testing.T, user crosstalk.Address, why string) {
	t.Helper()
	for i := 0; len(ts.srv.local.of(user)) > 0; i++ {
		if i > 400 {
			t.Fatal(why)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// smStanza reports whether e is a stanza (what XEP-0198 counts).
func smStanza(e el) bool {
	switch e.XMLName.Local {
	case "message", "presence", "iq":
		return true
	}
	return false
}

// TestAckTooHigh: an <a/> acknowledging more stanzas than the server sent
// ends the stream with <undefined-condition/> and XEP-0198's
// <handled-count-too-high/> (§6), even with resumption on; nothing it
// claimed to have handled is dropped: the unacknowledged message is
// stored offline and reaches the next session.
func TestAckTooHigh(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	a.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	a.expect("enabled", "")
	b.send("<message to='" + a.jid + "' type='chat'><body>unacked</body></message>")
	a.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	sent, got := 0, 0
	for got < 2 { // the message and the ping's result, in either order
		e := a.next()
		if smStanza(e) {
			sent++
		}
		if e.XMLName.Local == "message" && strings.Contains(e.Inner, "unacked") || e.XMLName.Local == "iq" && e.attr("id") == "p1" {
			got++
		}
	}
	a.send("<a xmlns='urn:xmpp:sm:3' h='1000'/>")
	var e el
	for e = a.next(); smStanza(e) || e.XMLName.Local == "r"; e = a.next() {
		if smStanza(e) {
			sent++
		}
	}
	if e.XMLName.Space != "http://etherx.jabber.org/streams" || e.XMLName.Local != "error" ||
		!strings.Contains(e.Inner, "<undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") ||
		!strings.Contains(e.Inner, "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='1000' send-count='"+strconv.Itoa(sent)+"'/>") ||
		!strings.Contains(e.Inner, "You acknowledged 1000 stanzas, but I only sent you "+strconv.Itoa(sent)+" so far.") {
		t.Fatalf("stream error (%d stanzas sent): %+v", sent, e)
	}
	if e := a.next(); e.XMLName.Local != "</stream>" {
		t.Fatalf("after the stream error: %+v", e)
	}
	ts.waitUnbound(t, alice, "the session was kept") // ended, not kept for resumption
	c := ts.login(t, alice, "a2", true)
	c.expect("message", "unacked")
}

// TestResumeTooHigh: a <resume/> (after authentication) whose h is beyond
// what the session sent fails with <undefined-condition/>,
// <handled-count-too-high/> and the server's count as h, and leaves the
// session as it was: a <resume/> with the right h then resumes it and
// gets the unacknowledged message.
func TestResumeTooHigh(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	a.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	id := a.expect("enabled", "").attr("id")
	a.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>") // the server's h: 1
	a.expect("iq", "p1")
	b.send("<message to='" + a.jid + "' type='chat'><body>one</body></message>")
	a.expect("message", "one")
	_ = a.conn.Close()
	ts.waitDetached(t, a.jid)

	c := ts.reauth(t, alice)
	c.send("<resume xmlns='urn:xmpp:sm:3' h='3' previd='" + id + "'/>") // sent: the ping's result and "one"
	e := c.expect("failed", "")
	if e.attr("h") != "1" || !strings.Contains(e.Inner, "<undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>") ||
		!strings.Contains(e.Inner, "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='3' send-count='2'/>") {
		t.Fatalf("failed: %+v", e)
	}
	c.send("<resume xmlns='urn:xmpp:sm:3' h='1' previd='" + id + "'/>")
	if e := c.expect("resumed", ""); e.attr("previd") != id || e.attr("h") != "1" {
		t.Fatalf("resumed: %+v", e)
	}
	c.expect("message", "one")
	stillWorks(t, c)
}

// TestResumeEndedSessionH: a <resume/> of the account's session that has
// ended fails with item-not-found and the count of stanzas the server
// handled from it (XEP-0198 §5); the id of another account's ended
// session fails as an unknown one, without h.
func TestResumeEndedSessionH(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	end := func(user crosstalk.Address) string {
		c := ts.login(t, user, "r", true)
		c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
		id := c.expect("enabled", "").attr("id")
		for _, p := range []string{"p1", "p2"} { // the server's h: 2
			c.send("<iq type='get' id='" + p + "'><ping xmlns='urn:xmpp:ping'/></iq>")
			c.expect("iq", p)
		}
		c.send("</stream:stream>")
		c.expect("</stream>", "")
		ts.waitUnbound(t, user, "the closed session was never unbound")
		return id
	}
	aliceID, bobID := end(alice), end(bob)

	c := ts.reauth(t, alice)
	c.send("<resume xmlns='urn:xmpp:sm:3' h='0' previd='" + aliceID + "'/>")
	if e := c.expect("failed", ""); e.attr("h") != "2" || !strings.Contains(e.Inner, "item-not-found") {
		t.Fatalf("failed: %+v", e)
	}
	failedOf := func(previd string) string {
		c, f := ts.tlsFeatures(t)
		e := c.auth2(sasl.ScramSha256, "alice", ts.password, mechanisms(f), "<resume xmlns='urn:xmpp:sm:3' previd='"+previd+"' h='0'/>")
		i, j := strings.Index(e.Inner, "<failed"), strings.Index(e.Inner, "</failed>")
		if i < 0 || j < 0 {
			t.Fatalf("no failed for %q: %s", previd, e.Inner)
		}
		return e.Inner[i : j+len("</failed>")]
	}
	if own := failedOf(aliceID); own != "<failed xmlns='urn:xmpp:sm:3' h='2'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>" {
		t.Fatalf("inline, own ended session: %s", own)
	}
	if foreign, unknown := failedOf(bobID), failedOf("no-such-session"); foreign != unknown || strings.Contains(foreign, "h=") {
		t.Fatalf("another account's ended session: %s; an unknown one: %s", foreign, unknown)
	}
}
