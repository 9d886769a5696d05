package xmpp

import (
	"strings"
	"testing"
	"time"
)

func TestVCard(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)

	b.send("<iq type='get' id='v0' to='alice@example.test'><vCard xmlns='vcard-temp'/></iq>")
	if e := b.expect("iq", "v0"); e.attr("type") != "result" || !strings.Contains(e.Inner, "vCard") || strings.Contains(e.Inner, "FN") {
		t.Fatalf("no vCard yet: %+v", e)
	}
	a.send("<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Älice Ünder</FN><NICKNAME>al</NICKNAME></vCard></iq>")
	if e := a.expect("iq", "v1"); e.attr("type") != "result" {
		t.Fatalf("set: %+v", e)
	}
	a.send("<iq type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>")
	if e := a.expect("iq", "v2"); e.attr("type") != "result" || !strings.Contains(e.Inner, "<FN>Älice Ünder</FN>") {
		t.Fatalf("own vCard: %+v", e)
	}
	b.send("<iq type='get' id='v3' to='alice@example.test'><vCard xmlns='vcard-temp'/></iq>")
	if e := b.expect("iq", "v3"); e.attr("type") != "result" || !strings.Contains(e.Inner, "<NICKNAME>al</NICKNAME>") {
		t.Fatalf("alice's vCard at bob: %+v", e)
	}
	b.send("<iq type='set' id='v4' to='alice@example.test'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>")
	if e := b.expect("iq", "v4"); e.attr("type") != "error" || !strings.Contains(e.Inner, "forbidden") {
		t.Fatalf("set another's vCard: %+v", e)
	}
	big := strings.Repeat("x", 130<<10)
	a.send("<iq type='set' id='v5'><vCard xmlns='vcard-temp'><DESC>" + big + "</DESC></vCard></iq>")
	if e := a.expect("iq", "v5"); e.attr("type") != "error" || !strings.Contains(e.Inner, "not-acceptable") {
		t.Fatalf("oversized vCard: %+v", e)
	}
}

func TestLastActivity(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob, carol := ts.user(t, "alice"), ts.user(t, "bob"), ts.user(t, "carol")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	c := ts.login(t, carol, "c1", true)
	befriend(t, a, b, alice.String(), bob.String())

	b.send("<iq type='get' id='l1' to='alice@example.test'><query xmlns='jabber:iq:last'/></iq>")
	if e := b.expect("iq", "l1"); e.attr("type") != "result" || !strings.Contains(e.Inner, "seconds='0'") {
		t.Fatalf("online: %+v", e)
	}
	c.send("<iq type='get' id='l2' to='alice@example.test'><query xmlns='jabber:iq:last'/></iq>")
	if e := c.expect("iq", "l2"); e.attr("type") != "error" || !strings.Contains(e.Inner, "forbidden") {
		t.Fatalf("stranger: %+v", e)
	}

	a.send("<presence type='unavailable'><status>Heading home 🚲</status></presence></stream:stream>")
	b.expect("presence", "unavailable")
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		b.send("<iq type='get' id='l3' to='alice@example.test'><query xmlns='jabber:iq:last'/></iq>")
		e := b.expect("iq", "l3")
		if e.attr("type") == "result" && strings.Contains(e.Inner, "Heading home 🚲") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offline: %+v", e)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The server's own last activity is its uptime.
	c.send("<iq type='get' id='l4' to='example.test'><query xmlns='jabber:iq:last'/></iq>")
	if e := c.expect("iq", "l4"); e.attr("type") != "result" || !strings.Contains(e.Inner, "seconds=") {
		t.Fatalf("server uptime: %+v", e)
	}
}
