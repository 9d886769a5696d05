package xmpp

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestIQRouting checks IQs between entities (RFC 6120 §8.2.3, §10.5): a
// get to a full address reaches that client with the sender's stamped
// address, its result comes back, and an IQ to an unbound resource gets
// service-unavailable.
func TestIQRouting(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	a.send("<iq type='get' id='v1' to='bob@example.test/b1' from='mallory@example.test/x'><query xmlns='jabber:iq:version'/></iq>")
	req := b.expect("iq", "v1")
	if req.attr("from") != "alice@example.test/a1" || req.attr("type") != "get" {
		t.Fatalf("request at bob: %+v", req)
	}
	b.send("<iq type='result' id='v1' to='alice@example.test/a1'><query xmlns='jabber:iq:version'><name>b-client</name></query></iq>")
	if e := a.expect("iq", "v1"); e.attr("from") != "bob@example.test/b1" || !strings.Contains(e.Inner, "b-client") {
		t.Fatalf("result at alice: %+v", e)
	}
	a.send("<iq type='get' id='v2' to='bob@example.test/gone'><query xmlns='jabber:iq:version'/></iq>")
	if e := a.expect("iq", "v2"); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("to an unbound resource: %+v", e)
	}
	a.send("<iq type='get' id='v3' to='bob@example.test'><query xmlns='urn:example:unhandled'/></iq>")
	if e := a.expect("iq", "v3"); e.attr("type") != "error" || !strings.Contains(e.Inner, "service-unavailable") {
		t.Fatalf("unhandled IQ to an account: %+v", e)
	}
	a.send("<iq type='get' id='v4' to='elsewhere.test'><ping xmlns='urn:xmpp:ping'/></iq>")
	if e := a.expect("iq", "v4"); !strings.Contains(e.Inner, "remote-server-not-found") {
		t.Fatalf("to another domain: %+v", e)
	}
}

// TestSessionEnds checks the stream errors of sessions the hub ends: a
// resource conflict (newer wins), a deleted account, and shutdown.
func TestSessionEnds(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	old := ts.login(t, alice, "same", true)
	newer := ts.login(t, alice, "same", true)
	if got := old.streamError(); got != "conflict" {
		t.Fatalf("older session: %q", got)
	}
	stillWorks(t, newer)
	b := ts.login(t, bob, "b1", true)
	if err := ts.hub.DeleteAccount(context.Background(), bob); err != nil {
		t.Fatal(err)
	}
	if got := b.streamError(); got != "not-authorized" {
		t.Fatalf("deleted account: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.hub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := newer.streamError(); got != "system-shutdown" {
		t.Fatalf("shutdown: %q", got)
	}
}
