package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// sendMessage sends a MESSAGE from u to user with body, answering a digest
// challenge.
func (u *testUA) sendMessage(e *testEnv, user, contentType, body string) *sipmsg.Response {
	u.t.Helper()
	req := u.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: user, Host: "localhost"}, e.udp)
	ct := sipmsg.ContentTypeHeader(contentType)
	req.AppendHeader(&ct)
	req.SetBody([]byte(body))
	return u.doAuth(req, u.password())
}

func TestMessageBetweenRegistered(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a, b := newUA(t, "alice"), newUA(t, "bob")
	wantStatus(t, a.register(e, 60), 200)
	wantStatus(t, b.register(e, 60), 200)
	waitFor(t, func() bool { return len(e.hub.PresenceOf(crosstalk.MustParseAddress("bob@localhost"))) == 1 })

	wantStatus(t, a.sendMessage(e, "bob", "text/plain", "hello bob"), 200)
	got := b.expect(5 * time.Second)
	if got.Method != sipmsg.MESSAGE || string(got.Body()) != "hello bob" || got.From().Address.User != "alice" {
		t.Fatalf("bob got %s", got.String())
	}

	// SIP→SIP keeps any body type.
	wantStatus(t, a.sendMessage(e, "bob", "application/im-iscomposing+xml", "<isComposing/>"), 200)
	got = b.expect(5 * time.Second)
	if ct := got.ContentType(); ct == nil || ct.Value() != "application/im-iscomposing+xml" || string(got.Body()) != "<isComposing/>" {
		t.Fatalf("bob got %s", got.String())
	}

	// The archive keeps the text message on both sides.
	waitFor(t, func() bool {
		page, err := e.store.QueryArchive(context.Background(), crosstalk.MustParseAddress("bob@localhost"), crosstalk.ArchiveQuery{})
		return err == nil && len(page.Messages) > 0 && page.Messages[0].Message.Body == "hello bob"
	})
}

func TestMessageOfflineThenRegister(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a, b := newUA(t, "alice"), newUA(t, "bob")
	for _, body := range []string{"one", "two", "three"} {
		wantStatus(t, a.sendMessage(e, "bob", "text/plain", body), 202)
	}
	n, err := e.store.CountOffline(context.Background(), crosstalk.MustParseAddress("bob@localhost"))
	if err != nil || n != 3 {
		t.Fatalf("offline %d, %v", n, err)
	}
	wantStatus(t, b.register(e, 60), 200)
	for _, want := range []string{"one", "two", "three"} {
		got := b.expect(5 * time.Second)
		if string(got.Body()) != want {
			t.Fatalf("got %q, want %q", got.Body(), want)
		}
	}
	// Once: a refresh does not deliver again.
	wantStatus(t, b.register(e, 60), 200)
	b.expectNothing(500 * time.Millisecond)
	if n, _ := e.store.CountOffline(context.Background(), crosstalk.MustParseAddress("bob@localhost")); n != 0 {
		t.Fatalf("%d still offline", n)
	}
}

func TestMessagePolicy(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a := newUA(t, "alice")
	// Unknown local user.
	wantStatus(t, a.sendMessage(e, "nobody", "text/plain", "x"), 404)
	// Out of the domain, authenticated: federation does not exist yet.
	req := a.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "carol", Host: "example.net"}, e.udp)
	req.SetBody([]byte("x"))
	res := a.doAuth(req, a.password())
	wantStatus(t, res, 501)
	if !strings.Contains(res.Reason, "federation") {
		t.Fatalf("reason %q", res.Reason)
	}
	// From a foreign domain to a foreign domain: no relay.
	req = a.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "carol", Host: "example.net"}, e.udp)
	req.From().Address.Host = "example.org"
	req.SetBody([]byte("x"))
	wantStatus(t, a.doAuth(req, a.password()), 403)
	// From a foreign domain to a local user: accepted without credentials.
	req = a.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "localhost"}, e.udp)
	req.From().Address.Host = "example.org"
	req.SetBody([]byte("from outside"))
	res, err := a.client.Do(ctxT(t, 5*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 202)
	// Forged From of a local user with someone else's credentials.
	req = a.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "bob", Host: "localhost"}, e.udp)
	req.From().Address.User = "bob"
	req.SetBody([]byte("forged"))
	wantStatus(t, a.doAuth(req, a.password()), 403)
}

// TestMessageFromOtherProtocol routes a message that came from XMPP (its
// Native is an XMPP stanza) to a SIP binding: the binding renders the
// translated body as text/plain.
func TestMessageFromOtherProtocol(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	b := newUA(t, "bob")
	wantStatus(t, b.register(e, 60), 200)
	bob := crosstalk.MustParseAddress("bob@localhost")
	waitFor(t, func() bool { return len(e.hub.PresenceOf(bob)) == 1 })
	m := &crosstalk.Message{
		ID: "x1", From: crosstalk.MustParseAddress("alice@localhost/gajim"), To: bob, Type: crosstalk.MessageChat,
		Body: "from xmpp", Subject: "evil\r\nX-Injected: yes",
		Native: crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: []byte("<message><body>from xmpp</body></message>")},
	}
	if err := e.hub.RouteMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := b.expect(5 * time.Second)
	if string(got.Body()) != "from xmpp" || got.ContentType().Value() != "text/plain;charset=UTF-8" || got.From().Address.User != "alice" {
		t.Fatalf("bob got %s", got.String())
	}
	if got.GetHeader("X-Injected") != nil || strings.Contains(got.String(), "\r\nX-Injected") {
		t.Fatalf("header injected:\n%s", got.String())
	}
}

// TestGRUU registers two instances of bob with gruu support; a MESSAGE to
// one's public GRUU (RFC 5627) reaches only that one.
func TestGRUU(t *testing.T) {
	e := newEnv(t, nil, "alice", "bob")
	a := newUA(t, "alice")
	var uas []*testUA
	var gruus []string
	for i, inst := range []string{"urn:uuid:00000000-0000-1000-8000-000000000001", "urn:uuid:00000000-0000-1000-8000-000000000002"} {
		b := newUA(t, "bob")
		req := b.request(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "localhost"}, e.udp)
		c := &sipmsg.ContactHeader{Address: b.contact, Params: sipmsg.NewParams()}
		c.Params.Add("+sip.instance", `"<`+inst+`>"`)
		req.AppendHeader(c)
		req.AppendHeader(sipmsg.NewHeader("Supported", "gruu"))
		res := b.doAuth(req, b.password())
		wantStatus(t, res, 200)
		// sipgo's parameter parser cuts a quoted value at ';': read the
		// wire text.
		var gruu string
		for _, line := range strings.Split(res.String(), "\r\n") {
			if strings.HasPrefix(line, "Contact:") && strings.Contains(line, fmt.Sprint(b.contact.Port)) {
				if _, after, ok := strings.Cut(line, "pub-gruu="); ok {
					gruu = after
				}
			}
		}
		if !strings.Contains(res.String(), `temp-gruu="sip:tgruu.`) {
			t.Fatalf("%d: no temp-gruu in %s", i, res.String())
		}
		if gruu, _, _ = strings.Cut(gruu, ";temp-gruu"); gruu != `"sip:bob@localhost;gr=`+inst+`"` {
			t.Fatalf("%d: pub-gruu %q in %s", i, gruu, res.String())
		}
		uas = append(uas, b)
		gruus = append(gruus, strings.Trim(gruu, `"`))
	}
	waitFor(t, func() bool { return len(e.hub.PresenceOf(crosstalk.MustParseAddress("bob@localhost"))) == 2 })
	var target sipmsg.Uri
	if err := sipmsg.ParseUri(gruus[1], &target); err != nil {
		t.Fatal(err)
	}
	req := a.request(sipmsg.MESSAGE, target, e.udp)
	req.SetBody([]byte("to the second"))
	wantStatus(t, a.doAuth(req, a.password()), 200)
	if got := uas[1].expect(5 * time.Second); string(got.Body()) != "to the second" {
		t.Fatalf("second got %q", got.Body())
	}
	uas[0].expectNothing(300 * time.Millisecond)

	// The temporary GRUU of the first instance reaches only the first.
	req = a.request(sipmsg.MESSAGE, sipmsg.Uri{Scheme: "sip", User: "x", Host: "localhost"}, e.udp)
	temp := e.srv.tempGRUU(crosstalk.MustParseAddress("bob@localhost"), "urn:uuid:00000000-0000-1000-8000-000000000001")
	if err := sipmsg.ParseUri(temp, &req.Recipient); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(temp, "bob") {
		t.Fatalf("temporary GRUU %s reveals the AOR", temp)
	}
	req.SetBody([]byte("to the first"))
	wantStatus(t, a.doAuth(req, a.password()), 200)
	if got := uas[0].expect(5 * time.Second); string(got.Body()) != "to the first" {
		t.Fatalf("first got %q", got.Body())
	}
	uas[1].expectNothing(300 * time.Millisecond)
}

// TestUnreachableBindingLosesNothing: a binding that never answers is
// removed after the delivery timeout and its message goes back to the hub,
// which stores it offline.
func TestUnreachableBindingLosesNothing(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DeliveryTimeout = time.Second }, "alice", "bob")
	a, b := newUA(t, "alice"), newUA(t, "bob")
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.contact.Port = dead.LocalAddr().(*net.UDPAddr).Port
	dead.Close() // nothing listens there any more
	wantStatus(t, b.register(e, 60), 200)
	bob := crosstalk.MustParseAddress("bob@localhost")
	waitFor(t, func() bool { return len(e.hub.PresenceOf(bob)) == 1 })
	wantStatus(t, a.sendMessage(e, "bob", "text/plain", "keep me"), 200)
	waitFor(t, func() bool {
		n, _ := e.store.CountOffline(context.Background(), bob)
		regs, _ := e.store.ListRegistrations(context.Background(), bob, time.Now())
		return n == 1 && len(regs) == 0 && len(e.hub.Endpoints(bob)) == 0
	})
}

// TestSendWindow pipelines MESSAGEs to one binding: every message arrives
// exactly once.
func TestSendWindow(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SendWindow = 8 }, "alice", "bob")
	b := newUA(t, "bob")
	wantStatus(t, b.register(e, 60), 200)
	bob := crosstalk.MustParseAddress("bob@localhost")
	waitFor(t, func() bool { return len(e.hub.PresenceOf(bob)) == 1 })
	const n = 50
	for i := 0; i < n; i++ {
		m := &crosstalk.Message{ID: fmt.Sprint(i), From: crosstalk.MustParseAddress("alice@localhost"), To: bob, Type: crosstalk.MessageChat, Body: fmt.Sprint("m", i)}
		if err := e.hub.RouteMessage(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	seen := make(map[string]bool)
	for len(seen) < n {
		got := string(b.expect(5 * time.Second).Body())
		if seen[got] {
			t.Fatalf("%s delivered twice", got)
		}
		seen[got] = true
	}
	b.expectNothing(200 * time.Millisecond)
}

// TestRefusedMessageBounces: an XMPP client's message to bob's phone, which
// answers 486 Busy Here, comes back to the client as an error message whose
// condition is RFC 7247 §6.2's for 486 (recipient-unavailable); a 404 gives
// item-not-found.
func TestRefusedMessageBounces(t *testing.T) {
	for i, tc := range []struct {
		status int
		cond   string
		typ    string
	}{
		{486, "recipient-unavailable", "wait"},
		{404, "item-not-found", "cancel"},
		{603, "service-unavailable", "cancel"},
		{200, "", ""}, // no error, no bounce
	} {
		e := newEnv(t, nil, "alice", "bob")
		b := newUA(t, "bob")
		b.status = tc.status // before the UA answers anything
		wantStatus(t, b.register(e, 60), 200)
		bob := crosstalk.MustParseAddress("bob@localhost")
		waitFor(t, func() bool { return len(e.hub.PresenceOf(bob)) == 1 })
		gajim := crosstalk.MustParseAddress("alice@localhost/gajim")
		client := &chanEndpoint{events: make(chan crosstalk.Event, 16)}
		if _, err := e.hub.Bind(context.Background(), gajim, client); err != nil {
			t.Fatal(err)
		}
		if err := e.hub.SetPresence(context.Background(), &crosstalk.Presence{From: gajim, Type: crosstalk.PresenceAvailable}); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("m%d", i)
		m := &crosstalk.Message{ID: id, From: gajim, To: bob, Type: crosstalk.MessageChat, Body: "ping 😀"}
		if err := e.hub.RouteMessage(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		b.expect(5 * time.Second)
		if tc.cond == "" {
			select {
			case ev := <-client.events:
				if m, ok := ev.(*crosstalk.Message); ok && m.Type == crosstalk.MessageError {
					t.Fatalf("%d bounced: %+v", tc.status, m)
				}
			case <-time.After(300 * time.Millisecond):
			}
			continue
		}
		got := waitMessage(t, client, crosstalk.MessageError)
		if got.ID != id || got.From != bob || got.To != gajim || got.Error == nil ||
			got.Error.Condition != tc.cond || got.Error.Type != tc.typ {
			t.Fatalf("%d: %d bounced as %+v (error %+v)", i, tc.status, got, got.Error)
		}
	}
}

// waitMessage waits for a message of type typ at an endpoint, skipping
// other events.
func waitMessage(t *testing.T, c *chanEndpoint, typ crosstalk.MessageType) *crosstalk.Message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-c.events:
			if m, ok := ev.(*crosstalk.Message); ok && m.Type == typ {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s message", typ)
		}
	}
}
