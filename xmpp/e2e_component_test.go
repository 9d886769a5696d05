package xmpp

import (
	"encoding/xml"
	"strings"
	"testing"
)

const (
	compDomain = "gw." + testDomain
	compSecret = "s3cret shared"
)

func withComponent(c *Config) {
	c.Components = []Component{{Domain: compDomain, Secret: compSecret}}
}

// dialComponent opens a component stream (XEP-0114 §3) to domain and sends
// the handshake for secret. It returns the client and the name of the
// element that answered: "handshake" on success, else the stream error
// condition.
func (ts *testServer) dialComponent(t testing.TB, domain, secret string) (*client, string) {
	t.Helper()
	c := dialRaw(t, ts.compAddr)
	c.send("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='" + domain + "'>")
	var id string
	for id == "" {
		tok, err := c.dec.Token()
		if err != nil {
			t.Fatalf("component stream header: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			ns := ""
			for _, a := range se.Attr {
				switch {
				case a.Name.Local == "id":
					id = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					ns = a.Value
				}
			}
			if ns != nsComponent {
				t.Fatalf("header namespace %q", ns)
			}
			if id == "" {
				return c, c.streamError()
			}
		}
	}
	c.send("<handshake>" + handshakeDigest(id, secret) + "</handshake>")
	e, err := c.tryNext()
	if err != nil {
		t.Fatalf("handshake answer: %v", err)
	}
	if e.XMLName.Local == "handshake" {
		if e.Inner != "" {
			t.Fatalf("handshake success not empty: %q", e.Inner)
		}
		return c, "handshake"
	}
	if e.XMLName.Local == "error" {
		i := strings.Index(e.Inner, "<")
		j := strings.IndexAny(e.Inner[i+1:], " />")
		return c, e.Inner[i+1 : i+1+j]
	}
	return c, e.XMLName.Local
}

func TestComponentHandshake(t *testing.T) {
	ts := startServer(t, withComponent)
	if _, got := ts.dialComponent(t, compDomain, "wrong"); got != condNotAuthorized {
		t.Fatalf("wrong secret: %q, want not-authorized", got)
	}
	if _, got := ts.dialComponent(t, "other."+testDomain, compSecret); got != condHostUnknown {
		t.Fatalf("unknown domain: %q, want host-unknown", got)
	}
	if _, got := ts.dialComponent(t, testDomain, compSecret); got != condHostUnknown {
		t.Fatalf("the server's own domain: %q, want host-unknown", got)
	}
	first, got := ts.dialComponent(t, compDomain, compSecret)
	if got != "handshake" {
		t.Fatalf("right secret: %q", got)
	}
	if _, got := ts.dialComponent(t, compDomain, compSecret); got != condConflict {
		t.Fatalf("second connection: %q, want conflict", got)
	}
	// The first connection is unaffected: it still routes to itself.
	first.send("<message from='a@" + compDomain + "' to='b@" + compDomain + "' id='self'><body>x</body></message>")
	if e := first.expect("message", "self"); e.attr("from") != "a@"+compDomain {
		t.Fatalf("self message: %+v", e)
	}
	// A client stream namespace on the component port is refused.
	c := dialRaw(t, ts.compAddr)
	c.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + compDomain + "'>")
	c.header()
	if got := c.streamError(); got != condInvalidNamespace {
		t.Fatalf("jabber:client stream: %q", got)
	}
}

func TestComponentHandshakeLockout(t *testing.T) {
	ts := startServer(t, func(c *Config) { withComponent(c); c.ComponentHandshakeFailures = 2 })
	for range 2 {
		if _, got := ts.dialComponent(t, compDomain, "wrong"); got != condNotAuthorized {
			t.Fatalf("wrong secret: %q", got)
		}
	}
	if _, got := ts.dialComponent(t, compDomain, compSecret); got != condPolicyViolation {
		t.Fatalf("after the limit, even the right secret: %q, want policy-violation", got)
	}
}

func TestComponentRouting(t *testing.T) {
	ts := startServer(t, withComponent)
	alice := ts.login(t, ts.user(t, "alice"), "desk", true)
	comp, got := ts.dialComponent(t, compDomain, compSecret)
	if got != "handshake" {
		t.Fatalf("handshake: %q", got)
	}

	// A local user's message reaches the component, from the user's full JID.
	alice.send("<message to='bob@" + compDomain + "' id='m1' type='chat'><body>hi gateway ✓</body></message>")
	if e := comp.expect("message", "m1"); e.attr("from") != alice.jid || !strings.Contains(e.Inner, "hi gateway ✓") {
		t.Fatalf("component got %+v", e)
	}
	// The component's message reaches the user.
	comp.send("<message xmlns='jabber:component:accept' from='bob@" + compDomain + "/legacy' to='alice@" + testDomain + "' id='m2' type='chat'><body>hello from afar</body></message>")
	if e := alice.expect("message", "m2"); e.attr("from") != "bob@"+compDomain+"/legacy" || !strings.Contains(e.Inner, "hello from afar") {
		t.Fatalf("alice got %+v", e)
	}
	// An IQ from the user to the component's domain, and the answer.
	alice.send("<iq type='get' id='v1' to='" + compDomain + "'><query xmlns='jabber:iq:version'/></iq>")
	q := comp.expect("iq", "v1")
	if q.attr("from") != alice.jid || q.attr("type") != "get" {
		t.Fatalf("component got %+v", q)
	}
	comp.send("<iq type='result' id='v1' from='" + compDomain + "' to='" + alice.jid + "'><query xmlns='jabber:iq:version'><name>gw</name></query></iq>")
	if e := alice.expect("iq", "v1"); e.attr("type") != "result" || e.attr("from") != compDomain || !strings.Contains(e.Inner, "<name>gw</name>") {
		t.Fatalf("alice got %+v", e)
	}
	// An IQ from the component to the user's full JID, and her answer.
	comp.send("<iq type='get' id='p1' from='" + compDomain + "' to='" + alice.jid + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	if e := alice.expect("iq", "p1"); e.attr("from") != compDomain {
		t.Fatalf("alice got %+v", e)
	}
	alice.send("<iq type='result' id='p1' to='" + compDomain + "'/>")
	if e := comp.expect("iq", "p1"); e.attr("type") != "result" || e.attr("from") != alice.jid {
		t.Fatalf("component got %+v", e)
	}
	// A component's request to the server's own services is refused clearly.
	comp.send("<iq type='get' id='d1' from='" + compDomain + "' to='" + testDomain + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if e := comp.expect("iq", "d1"); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("component got %+v", e)
	}
	// A message to an account that does not exist bounces to the component.
	comp.send("<message from='bob@" + compDomain + "' to='nobody@" + testDomain + "' id='m3'><body>x</body></message>")
	if e := comp.expect("message", "m3"); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("component got %+v", e)
	}
	// The server lists the connected component (XEP-0030 items).
	alice.send("<iq type='get' id='items' to='" + testDomain + "'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
	if e := alice.expect("iq", "items"); !strings.Contains(e.Inner, "jid='"+compDomain+"'") {
		t.Fatalf("disco#items: %+v", e)
	}
	// A from outside the component's domain ends its stream.
	comp.send("<message from='mallory@" + testDomain + "' to='alice@" + testDomain + "' id='m4'><body>spoof</body></message>")
	if got := comp.streamError(); got != condInvalidFrom {
		t.Fatalf("spoofed from: %q, want invalid-from", got)
	}
	// Gone: the domain is known but unavailable (RFC 6120 §8.3.3.19).
	alice.send("<message to='bob@" + compDomain + "' id='m5' type='chat'><body>anyone?</body></message>")
	if e := alice.expect("message", "m5"); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("alice got %+v", e)
	}
	alice.send("<iq type='get' id='items2' to='" + testDomain + "'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
	if e := alice.expect("iq", "items2"); strings.Contains(e.Inner, compDomain) {
		t.Fatalf("disco#items still lists the component: %+v", e)
	}
	// The spoofed message never arrived.
	stillWorks(t, alice)
}

func TestComponentLimits(t *testing.T) {
	ts := startServer(t, func(c *Config) { withComponent(c); c.StanzaSize = 16 << 10; c.MailboxBytes = 16 << 10 })
	bystander := ts.login(t, ts.user(t, "bob"), "calm", true)
	comp, got := ts.dialComponent(t, compDomain, compSecret)
	if got != "handshake" {
		t.Fatalf("handshake: %q", got)
	}
	comp.send("<message from='x@" + compDomain + "' to='bob@" + testDomain + "'><body>" + strings.Repeat("a", 20<<10) + "</body></message>")
	if got := comp.streamError(); got != condPolicyViolation {
		t.Fatalf("oversized stanza: %q, want policy-violation", got)
	}
	stillWorks(t, bystander)

	comp, got = ts.dialComponent(t, strings.ToUpper(compDomain), compSecret) // the domain is free again; its name is normalised
	if got != "handshake" {
		t.Fatalf("reconnect: %q", got)
	}
	comp.send("<!DOCTYPE x [<!ENTITY a 'b'>]>")
	if got := comp.streamError(); got != condRestrictedXML {
		t.Fatalf("DTD: %q, want restricted-xml", got)
	}
	if comp, got = ts.dialComponent(t, compDomain, compSecret); got != "handshake" {
		t.Fatalf("reconnect: %q", got)
	}
	comp.send("<message from='x@" + compDomain + "' to='bob@" + testDomain + "'>" + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + "</message>")
	if got := comp.streamError(); got != condPolicyViolation {
		t.Fatalf("too deep: %q, want policy-violation", got)
	}
	stillWorks(t, bystander)
}
