package xmpp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// TestSentCopyFromOtherProtocol: a message alice sent from her phone (it
// reaches the hub with a SIP payload, from her bare address) shows on her
// XMPP resource that enabled carbons as an XEP-0280 <sent/> carbon of a
// message from alice to bob; a resource without carbons gets nothing.
func TestSentCopyFromOtherProtocol(t *testing.T) {
	ts := startServer(t, nil)
	alice, _ := ts.user(t, "alice"), ts.user(t, "bob")
	a1 := ts.login(t, alice, "a1", true)
	a2 := ts.login(t, alice, "a2", true)
	a1.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	a1.expect("iq", "c1")
	m := &crosstalk.Message{
		ID: "sip-1", From: crosstalk.MustParseAddress("alice@" + testDomain), To: crosstalk.MustParseAddress("bob@" + testDomain),
		Type: crosstalk.MessageChat, Body: "vom Telefon ☎ <&>",
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolSIP, ContentType: "text/plain;charset=UTF-8", Payload: []byte("vom Telefon ☎ <&>")},
	}
	if err := ts.hub.RouteMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	e := a1.expect("message", "urn:xmpp:carbons:2")
	for _, want := range []string{"<sent xmlns='urn:xmpp:carbons:2'>", "to='bob@" + testDomain + "'", "vom Telefon ☎ &lt;&amp;&gt;"} {
		if !strings.Contains(e.Inner, want) {
			t.Fatalf("sent carbon lacks %q: %+v", want, e)
		}
	}
	a2.send("<iq type='get' id='p1' to='" + testDomain + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		e := a2.next()
		if e.XMLName.Local == "message" {
			t.Fatalf("a2 without carbons got %+v", e)
		}
		if e.XMLName.Local == "iq" && e.attr("id") == "p1" {
			break
		}
	}
}

// phoneEndpoint is a SIP registration binding as the hub sees one: it
// speaks SIP and takes no copies.
type phoneEndpoint struct{ got chan crosstalk.Event }

func (*phoneEndpoint) Protocol() crosstalk.Protocol { return crosstalk.ProtocolSIP }
func (p *phoneEndpoint) Deliver(ev crosstalk.Event) error {
	select {
	case p.got <- ev:
		return nil
	default:
		return crosstalk.ErrSlowConsumer
	}
}
func (*phoneEndpoint) Close(error) {}

// TestReceivedCopyFromOtherProtocol: bob's message to alice's bare address
// goes, by the routing policy, to her phone only (her XMPP resources have
// a negative priority); her resource that enabled carbons sees it as an
// XEP-0280 <received/> carbon, the one without carbons sees nothing.
func TestReceivedCopyFromOtherProtocol(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob := ts.user(t, "alice"), ts.user(t, "bob")
	a1 := ts.login(t, alice, "a1", false)
	a2 := ts.login(t, alice, "a2", false)
	a1.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	a1.expect("iq", "c1")
	for _, c := range []*client{a1, a2} {
		c.send("<presence><priority>-1</priority></presence>")
	}
	// Both are available (a resource without presence gets no copies)
	// before bob writes.
	for deadline := time.Now().Add(10 * time.Second); len(ts.hub.PresenceOf(alice)) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("alice's presence: %+v", ts.hub.PresenceOf(alice))
		}
	}
	phone := &phoneEndpoint{got: make(chan crosstalk.Event, 16)}
	ctx := context.Background()
	phoneAddr, err := ts.hub.Bind(ctx, crosstalk.MustParseAddress("alice@"+testDomain+"/sip-1"), phone)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.hub.SetPresence(ctx, &crosstalk.Presence{From: phoneAddr}); err != nil {
		t.Fatal(err)
	}
	b := ts.login(t, bob, "desk", true)
	b.send("<message type='chat' id='r1' to='alice@" + testDomain + "'><body>nur fürs Telefon &lt;3</body></message>")
	for got := false; !got; {
		select {
		case ev := <-phone.got:
			m, ok := ev.(*crosstalk.Message)
			if !ok {
				continue // presence
			}
			if m.ID != "r1" || m.ReceivedCopy {
				t.Fatalf("phone got %+v", m)
			}
			got = true
		case <-time.After(5 * time.Second):
			t.Fatal("the phone did not get the message")
		}
	}
	e := a1.expect("message", "urn:xmpp:carbons:2")
	for _, want := range []string{"<received xmlns='urn:xmpp:carbons:2'>", "to='alice@" + testDomain + "'", "from='bob@" + testDomain + "/desk'", "nur fürs Telefon &lt;3"} {
		if !strings.Contains(e.Inner, want) {
			t.Fatalf("received carbon lacks %q: %+v", want, e)
		}
	}
	a2.send("<iq type='get' id='p1' to='" + testDomain + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		e := a2.next()
		if e.XMLName.Local == "message" {
			t.Fatalf("a2 without carbons got %+v", e)
		}
		if e.XMLName.Local == "iq" && e.attr("id") == "p1" {
			break
		}
	}
}
