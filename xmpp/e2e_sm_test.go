package xmpp

import (
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
	for i := 0; len(ts.srv.local.of(alice)) > 0; i++ { // gone after its leftovers reached the hub
		if i > 400 {
			t.Fatal("the cut session was never unbound")
		}
		time.Sleep(25 * time.Millisecond)
	}
	c := ts.login(t, alice, "a2", true)
	c.expect("message", "never acked")
}
