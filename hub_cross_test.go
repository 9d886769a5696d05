package crosstalk_test

import (
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

// sipEndpoint is a test endpoint that speaks SIP, as a registration
// binding would.
type sipEndpoint struct{ *endpoint }

func (sipEndpoint) Protocol() crosstalk.Protocol { return crosstalk.ProtocolSIP }

// onlineSIP binds a SIP endpoint and makes it available at priority 0, as
// the SIP registrar does for a binding (docs/design/006-cross-protocol.md).
func (f *fixture) onlineSIP(full string) (*endpoint, crosstalk.Address) {
	f.t.Helper()
	ep := sipEndpoint{newEndpoint(256)}
	a, err := f.hub.Bind(f.ctx, addr(full), ep)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: a}); err != nil {
		f.t.Fatal(err)
	}
	return ep.endpoint, a
}

// carbonEndpoint is an XMPP endpoint that takes sent copies, as a session
// with carbons enabled does.
type carbonEndpoint struct{ *endpoint }

func (carbonEndpoint) TakesCopies() bool { return true }

// onlineCarbons binds an endpoint that takes sent copies.
func (f *fixture) onlineCarbons(full string, priority int8) (*endpoint, crosstalk.Address) {
	f.t.Helper()
	ep := carbonEndpoint{newEndpoint(256)}
	a, err := f.hub.Bind(f.ctx, addr(full), ep)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: a, Priority: priority}); err != nil {
		f.t.Fatal(err)
	}
	return ep.endpoint, a
}

func sentCopies(evs []crosstalk.Event) (copies, others []*crosstalk.Message) {
	for _, m := range messages(evs) {
		if m.SentCopy {
			copies = append(copies, m)
		} else {
			others = append(others, m)
		}
	}
	return copies, others
}

// TestSentCopyAcrossProtocols: what alice sends from her phone (a SIP
// MESSAGE, from her bare address) is copied to her XMPP resources that take
// copies (carbons enabled), marked SentCopy and still addressed to bob; a
// resource that does not take them gets nothing. What she sends from XMPP
// is copied neither to her SIP bindings (they take no copies) nor to her
// other XMPP resources (xmpp/ copies within XMPP itself). Errors,
// headlines and messages without a protocol are not copied.
func TestSentCopyAcrossProtocols(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	pc, pcAddr := f.onlineCarbons("alice/pc", 0)
	tablet, _ := f.onlineCarbons("alice/tablet", -1) // negative priority still sees its own side
	plain, _ := f.online("alice/old", 0)             // no carbons
	phone, _ := f.onlineSIP("alice/sip-1")
	bob, _ := f.online("bob/desk", 0)
	for _, ep := range []*endpoint{pc, tablet, plain, phone, bob} {
		ep.take()
	}

	fromPhone := &crosstalk.Message{ID: "p1", From: addr("alice"), To: addr("bob"), Type: crosstalk.MessageChat, Body: "from my phone ☎",
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolSIP, ContentType: "text/plain", Payload: []byte("from my phone ☎")}}
	if err := f.hub.RouteMessage(f.ctx, fromPhone); err != nil {
		t.Fatal(err)
	}
	if c, o := sentCopies(bob.take()); len(c) != 0 || len(o) != 1 {
		t.Fatalf("bob: %d copies, %d messages", len(c), len(o))
	}
	for name, ep := range map[string]*endpoint{"pc": pc, "tablet": tablet} {
		c, o := sentCopies(ep.take())
		if len(c) != 1 || len(o) != 0 || c[0].To != addr("bob") || c[0].From != addr("alice") || c[0].Body != "from my phone ☎" {
			t.Fatalf("%s: copies %v, others %v", name, c, o)
		}
	}
	if c, o := sentCopies(plain.take()); len(c) != 0 || len(o) != 0 {
		t.Fatalf("a resource without carbons got %d copies, %d messages", len(c), len(o))
	}
	if c, o := sentCopies(phone.take()); len(c) != 0 || len(o) != 0 {
		t.Fatalf("the sending protocol's endpoint got %d copies, %d messages", len(c), len(o))
	}

	fromPC := &crosstalk.Message{ID: "x1", From: pcAddr, To: addr("bob"), Type: crosstalk.MessageChat, Body: "from gajim",
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: []byte("<message type='chat'><body>from gajim</body></message>")}}
	if err := f.hub.RouteMessage(f.ctx, fromPC); err != nil {
		t.Fatal(err)
	}
	bob.take()
	if c, _ := sentCopies(phone.take()); len(c) != 0 {
		t.Fatalf("SIP binding got %d copies of an XMPP-sent message", len(c))
	}
	if c, _ := sentCopies(tablet.take()); len(c) != 0 {
		t.Fatal("the hub copied within XMPP; xmpp/ carbons do that")
	}
	if c, _ := sentCopies(pc.take()); len(c) != 0 {
		t.Fatal("the sender got its own copy")
	}

	for _, m := range []*crosstalk.Message{
		{ID: "e", From: addr("alice"), To: addr("bob/desk"), Type: crosstalk.MessageError, Native: fromPhone.Native},
		{ID: "h", From: addr("alice"), To: addr("bob"), Type: crosstalk.MessageHeadline, Body: "h", Native: fromPhone.Native},
		{ID: "n", From: addr("alice"), To: addr("bob"), Type: crosstalk.MessageChat, Body: "api"},
	} {
		if err := f.hub.RouteMessage(f.ctx, m); err != nil {
			t.Fatal(err)
		}
		if c, _ := sentCopies(pc.take()); len(c) != 0 {
			t.Fatalf("%s copied", m.ID)
		}
	}
}

// TestBareRoutingAcrossProtocols is the policy of
// docs/design/006-cross-protocol.md: a SIP binding is a resource of
// priority 0, so a message to the bare address goes to the XMPP resources
// and SIP bindings of highest non-negative priority (RFC 6121 §8.5.2.1.1),
// both protocols alike.
func TestBareRoutingAcrossProtocols(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	phone, _ := f.onlineSIP("bob/sip-1")
	desk, deskAddr := f.online("bob/desk", 0)
	phone.take()
	desk.take()
	if err := f.send(alice, addr("bob"), "tie"); err != nil {
		t.Fatal(err)
	}
	if len(messages(phone.take())) != 1 || len(messages(desk.take())) != 1 {
		t.Fatal("priority 0 on both sides: both should get it")
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: deskAddr, Priority: 5}); err != nil {
		t.Fatal(err)
	}
	phone.take()
	desk.take()
	if err := f.send(alice, addr("bob"), "xmpp wins"); err != nil {
		t.Fatal(err)
	}
	if len(messages(phone.take())) != 0 || len(messages(desk.take())) != 1 {
		t.Fatal("priority 5 XMPP resource should win over a SIP binding")
	}
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: deskAddr, Priority: -1}); err != nil {
		t.Fatal(err)
	}
	phone.take()
	desk.take()
	if err := f.send(alice, addr("bob"), "sip wins"); err != nil {
		t.Fatal(err)
	}
	if len(messages(phone.take())) != 1 || len(messages(desk.take())) != 0 {
		t.Fatal("negative XMPP priority: the SIP binding should get it alone")
	}
}

// TestOfflineToFirstEndpointAcrossProtocols: a message to bob while he is
// offline everywhere goes to whichever endpoint comes online first — here
// his phone — once; his XMPP client, coming later, does not get it again;
// both archives hold it.
func TestOfflineToFirstEndpointAcrossProtocols(t *testing.T) {
	f := newFixture(t, true, "alice", "bob")
	_, alice := f.online("alice/pc", 0)
	if err := f.send(alice, addr("bob"), "while you were out 🌙"); err != nil {
		t.Fatal(err)
	}
	phone, _ := f.onlineSIP("bob/sip-1")
	got := messages(phone.take())
	if len(got) != 1 || got[0].Body != "while you were out 🌙" || !got[0].Delayed {
		t.Fatalf("phone got %v", got)
	}
	desk, _ := f.online("bob/desk", 0)
	if len(messages(desk.take())) != 0 {
		t.Fatal("delivered twice")
	}
	for _, owner := range []string{"alice", "bob"} {
		page, err := f.hub.QueryArchive(f.ctx, addr(owner), crosstalk.ArchiveQuery{})
		if err != nil || len(page.Messages) != 1 {
			t.Fatalf("%s's archive: %d messages, %v", owner, len(page.Messages), err)
		}
	}
}

func receivedCopies(evs []crosstalk.Event) (copies, others []*crosstalk.Message) {
	for _, m := range messages(evs) {
		if m.ReceivedCopy {
			copies = append(copies, m)
		} else {
			others = append(others, m)
		}
	}
	return copies, others
}

// TestReceivedCopyAcrossProtocols: a message to alice that the routing
// policy gives to her phone only (her XMPP resources have a lower
// priority), or that is addressed to her phone, reaches her XMPP resources
// that take copies as a received copy (XEP-0280 received carbons). When an
// XMPP resource got the message itself, the hub copies nothing to XMPP
// (xmpp/ does), and a SIP binding never gets a copy.
func TestReceivedCopyAcrossProtocols(t *testing.T) {
	f := newFixture(t, false, "alice", "bob")
	pc, _ := f.onlineCarbons("alice/pc", -1)
	tablet, _ := f.onlineCarbons("alice/tablet", -5)
	plain, _ := f.online("alice/old", -1) // no carbons
	phone, phoneAddr := f.onlineSIP("alice/sip-1")
	bob, bobAddr := f.online("bob/desk", 0)
	for _, ep := range []*endpoint{pc, tablet, plain, phone, bob} {
		ep.take()
	}
	for _, to := range []crosstalk.Address{addr("alice"), phoneAddr} {
		m := &crosstalk.Message{ID: "b-" + to.String(), From: bobAddr, To: to, Type: crosstalk.MessageChat, Body: "to your phone",
			Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: []byte("<message/>")}}
		if err := f.hub.RouteMessage(f.ctx, m); err != nil {
			t.Fatal(err)
		}
		if c, o := receivedCopies(phone.take()); len(c) != 0 || len(o) != 1 {
			t.Fatalf("to %s: phone: %d copies, %d messages", to, len(c), len(o))
		}
		for name, ep := range map[string]*endpoint{"pc": pc, "tablet": tablet} {
			c, o := receivedCopies(ep.take())
			if len(c) != 1 || len(o) != 0 || c[0].To != to || c[0].From != bobAddr || c[0].Body != "to your phone" || c[0].ID != m.ID {
				t.Fatalf("to %s: %s: copies %v, others %v", to, name, c, o)
			}
		}
		if evs := plain.take(); len(messages(evs)) != 0 {
			t.Fatalf("to %s: a resource without carbons got %v", to, messages(evs))
		}
	}

	// An XMPP resource at the phone's priority gets the message itself:
	// copying within XMPP is xmpp/'s business.
	if err := f.hub.SetPresence(f.ctx, &crosstalk.Presence{From: addr("alice/pc")}); err != nil {
		t.Fatal(err)
	}
	bob.take()
	both := &crosstalk.Message{ID: "both", From: bobAddr, To: addr("alice"), Type: crosstalk.MessageChat, Body: "both"}
	if err := f.hub.RouteMessage(f.ctx, both); err != nil {
		t.Fatal(err)
	}
	if c, o := receivedCopies(pc.take()); len(c) != 0 || len(o) != 1 {
		t.Fatalf("pc: %d copies, %d messages", len(c), len(o))
	}
	if c, o := receivedCopies(phone.take()); len(c) != 0 || len(o) != 1 {
		t.Fatalf("phone: %d copies, %d messages", len(c), len(o))
	}
	if c, _ := receivedCopies(tablet.take()); len(c) != 0 {
		t.Fatal("the hub copied within XMPP")
	}

	// Errors, headlines and groupchat are not copied; with the phone gone,
	// a message to the XMPP resource is not copied to anyone.
	for _, m := range []*crosstalk.Message{
		{ID: "e", From: bobAddr, To: phoneAddr, Type: crosstalk.MessageError},
		{ID: "h", From: bobAddr, To: addr("alice"), Type: crosstalk.MessageHeadline, Body: "h"},
	} {
		if err := f.hub.RouteMessage(f.ctx, m); err != nil {
			t.Fatal(err)
		}
		if c, _ := receivedCopies(tablet.take()); len(c) != 0 {
			t.Fatalf("%s copied", m.ID)
		}
	}
}
