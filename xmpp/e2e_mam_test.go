package xmpp

import (
	"strings"
	"testing"
)

// TestMAM checks XEP-0313: archived chat comes back as forwarded results
// before the fin, paged with RSM.
func TestMAM(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	for _, body := range []string{"eins", "zwei", "drei 🎉"} {
		a.send("<message to='bob@example.test' type='chat'><body>" + body + "</body></message>")
		b.expect("message", body)
	}
	a.send("<iq type='set' id='mam1'><query xmlns='urn:xmpp:mam:2' queryid='q1'><x xmlns='jabber:x:data' type='submit'>" +
		"<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>bob@example.test</value></field></x>" +
		"<set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set></query></iq>")
	var got []string
	for range 3 {
		e := a.next()
		if e.XMLName.Local == "iq" {
			if !strings.Contains(e.Inner, "<fin") || strings.Contains(e.Inner, "complete='true'") {
				t.Fatalf("fin: %s", e.Inner)
			}
			break
		}
		if e.XMLName.Local == "message" && strings.Contains(e.Inner, "queryid='q1'") {
			got = append(got, e.Inner)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "<body>eins</body>") || !strings.Contains(got[0], "xmlns='jabber:client'") || !strings.Contains(got[0], "urn:xmpp:delay") {
		t.Fatalf("results: %q", got)
	}

	// An empty <before/> asks for the last page (XEP-0059 §2.5), which is
	// how clients fetch the newest messages.
	a.send("<iq type='set' id='mam2'><query xmlns='urn:xmpp:mam:2' queryid='q2'>" +
		"<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set></query></iq>")
	got = got[:0]
	for range 3 {
		e := a.next()
		if e.XMLName.Local == "iq" {
			break
		}
		if e.XMLName.Local == "message" && strings.Contains(e.Inner, "queryid='q2'") {
			got = append(got, e.Inner)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "<body>zwei</body>") || !strings.Contains(got[1], "drei 🎉") {
		t.Fatalf("last page: %q", got)
	}
}

// TestMAMLastPage checks an empty RSM <before/>: the newest page.
func TestMAMLastPage(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a := ts.login(t, alice, "a1", true)
	b := ts.login(t, bob, "b1", true)
	for _, body := range []string{"m1", "m2", "m3", "m4", "m5"} {
		a.send("<message to='bob@example.test' type='chat'><body>" + body + "</body></message>")
		b.expect("message", body)
	}
	a.send("<iq type='set' id='last'><query xmlns='urn:xmpp:mam:2' queryid='q2'>" +
		"<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set></query></iq>")
	var got []string
	for range 4 {
		e := a.next()
		if e.XMLName.Local == "iq" {
			if strings.Contains(e.Inner, "complete='true'") {
				t.Fatalf("fin says complete: %s", e.Inner)
			}
			break
		}
		if e.XMLName.Local == "message" && strings.Contains(e.Inner, "queryid='q2'") {
			got = append(got, e.Inner)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "<body>m4</body>") || !strings.Contains(got[1], "<body>m5</body>") {
		t.Fatalf("last page: %q", got)
	}
	a.send("<iq type='set' id='bad'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><after>nope</after></set></query></iq>")
	if e := a.expect("iq", "bad"); !strings.Contains(e.Inner, "item-not-found") {
		t.Fatalf("unknown RSM id: %+v", e)
	}
}
