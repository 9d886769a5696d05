package xmpp

import (
	"encoding/base64"
	"strings"
	"testing"

	"mellium.im/sasl"
)

func TestLoginBindPing(t *testing.T) {
	ts := startServer(t, nil)
	alice := ts.user(t, "alice")
	c := ts.login(t, alice, "phone", false)
	if c.jid != "alice@example.test/phone" {
		t.Fatalf("jid %q", c.jid)
	}
	c.send("<iq type='get' id='p1' to='" + testDomain + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	if e := c.expect("iq", ""); e.attr("type") != "result" || e.attr("id") != "p1" {
		t.Fatalf("ping: %+v", e)
	}
	c.send("<iq type='get' id='u1'><unknown xmlns='urn:example:nothing'/></iq>")
	if e := c.expect("iq", ""); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("unknown IQ: %+v", e)
	}
}

func TestFeaturesBeforeAndAfterTLS(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts.addr)
	f := c.open()
	if !strings.Contains(f.Inner, "<required") || strings.Contains(f.Inner, "mechanisms") {
		t.Fatalf("features before TLS: %s", f.Inner)
	}
	c.startTLS(ts.roots)
	f = c.open()
	m := mechanisms(f)
	want := []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}
	if strings.Join(m, ",") != strings.Join(want, ",") {
		t.Fatalf("mechanisms %v", m)
	}
	if !strings.Contains(f.Inner, "tls-exporter") || !strings.Contains(f.Inner, "tls-server-end-point") {
		t.Fatalf("no channel-binding types: %s", f.Inner)
	}
}

func TestSASLMechanisms(t *testing.T) {
	ts := startServer(t, nil)
	ts.user(t, "bob")
	for _, tc := range []struct {
		mech     sasl.Mechanism
		password string
		want     string
	}{
		{sasl.ScramSha256Plus, ts.password, "success"},
		{sasl.ScramSha1Plus, ts.password, "success"},
		{sasl.ScramSha1, ts.password, "success"},
		{sasl.Plain, ts.password, "success"},
		{sasl.ScramSha256, "wrong", "failure"},
		{sasl.Plain, "wrong", "failure"},
	} {
		c := dialRaw(t, ts.addr)
		c.open()
		c.startTLS(ts.roots)
		f := c.open()
		t.Log(tc.mech.Name)
		if e := c.auth(tc.mech, "bob", tc.password, mechanisms(f)); e.XMLName.Local != tc.want {
			t.Errorf("%s: got %+v, want %s", tc.mech.Name, e, tc.want)
		}
	}
}

// TestSASLDetails checks PLAIN without an initial response, an authzid
// naming someone else, and an abort.
func TestSASLDetails(t *testing.T) {
	ts := startServer(t, nil)
	ts.user(t, "bob")
	ts.user(t, "carol")
	c := dialRaw(t, ts.addr)
	c.open()
	c.startTLS(ts.roots)
	c.open()
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
	if e := c.next(); e.XMLName.Local != "challenge" {
		t.Fatalf("no empty challenge: %+v", e)
	}
	c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.StdEncoding.EncodeToString([]byte("carol@example.test\x00bob\x00"+ts.password)) + "</response>")
	if e := c.next(); e.XMLName.Local != "failure" || !strings.Contains(e.Inner, "invalid-authzid") {
		t.Fatalf("authzid of another account: %+v", e)
	}
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'/>")
	if e := c.next(); e.XMLName.Local != "challenge" {
		t.Fatalf("no empty challenge for SCRAM: %+v", e)
	}
	c.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
	if e := c.next(); e.XMLName.Local != "failure" || !strings.Contains(e.Inner, "aborted") {
		t.Fatalf("abort: %+v", e)
	}
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("bob@example.test\x00bob\x00"+ts.password)) + "</auth>")
	if e := c.next(); e.XMLName.Local != "success" {
		t.Fatalf("own bare JID as authzid: %+v", e)
	}
}
