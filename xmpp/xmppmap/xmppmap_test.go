package xmppmap

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

func TestMessageKeepsExtensions(t *testing.T) {
	raw := `<message to='bob@example.com' type='chat' id='m1' xml:lang='de'><body>Grüße &amp; 你好</body>` +
		`<active xmlns='http://jabber.org/protocol/chatstates'/><encrypted xmlns='eu.siacs.conversations.axolotl'><payload>AAA=</payload></encrypted></message>`
	s, err := ParseStanza([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	s.SetAttr("from", "alice@example.com/phone")
	m, err := ToMessage(&s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Body != "Grüße & 你好" || m.Type != crosstalk.MessageChat || m.ID != "m1" || m.Lang != "de" ||
		m.From.String() != "alice@example.com/phone" || m.To.String() != "bob@example.com" {
		t.Fatalf("mapped %+v", m)
	}
	out := string(FromMessage(&m))
	for _, want := range []string{"chatstates", "<payload>AAA=</payload>", "from='alice@example.com/phone'", "xml:lang='de'", "&amp;"} {
		if !strings.Contains(out, want) {
			t.Errorf("native %s lacks %s", out, want)
		}
	}
}

func TestMessageFromFields(t *testing.T) {
	m := crosstalk.Message{ID: "x<'", From: crosstalk.MustParseAddress("a@example.com/sip"),
		To: crosstalk.MustParseAddress("b@example.com"), Type: crosstalk.MessageChat, Body: "<b>&'\"", Subject: "s", Thread: "t"}
	s, err := ParseStanza(FromMessage(&m))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ToMessage(&s)
	if err != nil {
		t.Fatal(err)
	}
	got.Native = crosstalk.Native{}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip: %+v != %+v", got, m)
	}
}

func TestPresence(t *testing.T) {
	for i, tc := range []struct {
		raw  string
		want crosstalk.Presence
	}{
		{`<presence><show>away</show><status>lunch</status><priority>5</priority></presence>`,
			crosstalk.Presence{Show: crosstalk.ShowAway, Status: "lunch", Priority: 5}},
		{`<presence><show>dnd</show><priority>900</priority></presence>`, crosstalk.Presence{Show: crosstalk.ShowDND, Priority: 127}},
		{`<presence type='unavailable'/>`, crosstalk.Presence{Type: crosstalk.PresenceUnavailable}},
		{`<presence type='subscribe' to='b@example.com'/>`, crosstalk.Presence{Type: crosstalk.PresenceSubscribe, To: crosstalk.MustParseAddress("b@example.com")}},
		{`<presence><x:show xmlns:x='urn:other'>dnd</x:show></presence>`, crosstalk.Presence{}},
	} {
		s, err := ParseStanza([]byte(tc.raw))
		if err != nil {
			t.Fatal(i, err)
		}
		p, err := ToPresence(&s)
		if err != nil {
			t.Fatal(i, err)
		}
		p.Native = crosstalk.Native{}
		if !reflect.DeepEqual(p, tc.want) {
			t.Errorf("%d: %+v, want %+v", i, p, tc.want)
		}
	}
	s, _ := ParseStanza([]byte(`<presence type='bogus'/>`))
	if _, err := ToPresence(&s); err == nil {
		t.Fatal("unknown type accepted")
	}
	sub := crosstalk.Presence{Type: crosstalk.PresenceSubscribed, From: crosstalk.MustParseAddress("a@example.com/r")}
	if out := string(FromPresence(&sub, crosstalk.MustParseAddress("b@example.com/x"))); out != `<presence from='a@example.com' to='b@example.com' type='subscribed'/>` {
		t.Fatalf("subscription rendered %s", out)
	}
}

func TestRoster(t *testing.T) {
	ver, items, err := ParseRosterQuery([]byte(`<query xmlns='jabber:iq:roster' ver='3'><item jid='b@example.com' name='Bob'><group>Friends</group></item><item jid='c@example.com' subscription='remove'/></query>`))
	if err != nil || ver != "3" || len(items) != 2 || items[0].Item.Name != "Bob" || items[0].Item.Groups[0] != "Friends" || !items[1].Remove {
		t.Fatalf("%q %+v %v", ver, items, err)
	}
	if _, _, err := ParseRosterQuery([]byte(`<query xmlns='jabber:iq:roster'><item jid='b@example.com'><group>a</group><group>a</group></item></query>`)); err == nil {
		t.Fatal("duplicate group accepted")
	}
	hidden := crosstalk.RosterItem{Contact: crosstalk.MustParseAddress("x@example.com"), SubscriptionState: crosstalk.SubscriptionState{PendingIn: true}}
	shown := crosstalk.RosterItem{Contact: crosstalk.MustParseAddress("b@example.com"), Name: "B&B",
		SubscriptionState: crosstalk.SubscriptionState{Subscription: crosstalk.SubscriptionFrom, PendingOut: true}}
	out := string(RosterResult(crosstalk.Roster{Version: 7, Items: []crosstalk.RosterItem{shown, hidden}}))
	want := `<query xmlns='jabber:iq:roster' ver='7'><item jid='b@example.com' name='B&amp;B' subscription='from' ask='subscribe'/></query>`
	if out != want {
		t.Fatalf("got %s\nwant %s", out, want)
	}
	var b bytes.Buffer
	RosterItem(&b, shown, true)
	if !strings.Contains(b.String(), "subscription='remove'") || strings.Contains(b.String(), "ask=") {
		t.Fatal(b.String())
	}
}

func TestParseStanzaRefuses(t *testing.T) {
	for _, raw := range []string{`<foo/>`, `<message xmlns='jabber:server'/>`, `<message>`, ``} {
		if _, err := ParseStanza([]byte(raw)); err == nil {
			t.Errorf("%q accepted", raw)
		}
	}
}

func TestDelayAndEmbed(t *testing.T) {
	m := crosstalk.Message{From: crosstalk.MustParseAddress("room@conference.example.com/nick"), To: crosstalk.MustParseAddress("b@example.com/r"),
		Type: crosstalk.MessageGroupchat, Body: "x", Delayed: true, Time: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)}
	out := string(FromMessage(&m))
	if !strings.Contains(out, "<delay xmlns='urn:xmpp:delay' from='room@conference.example.com' stamp='2026-01-02T03:04:05.123Z'/>") {
		t.Fatalf("got %s", out)
	}
	if got := string(Embed([]byte(`<message to='x'/>`))); got != `<message xmlns='jabber:client' to='x'/>` {
		t.Fatalf("embed: %s", got)
	}
}

func TestPresenceTypeNames(t *testing.T) {
	for pt := crosstalk.PresenceAvailable; pt <= crosstalk.PresenceError; pt++ {
		if got, ok := presenceType(PresenceTypeName(pt)); !ok || got != pt {
			t.Errorf("type %d: name %q parses to %d, %v", pt, PresenceTypeName(pt), got, ok)
		}
	}
}

// TestMessageChildTexts: with the texts the stream's decoder found, the
// first body, subject and thread in jabber:client are taken from them, and
// Inner is not decoded again.
func TestMessageChildTexts(t *testing.T) {
	s, err := ParseStanza([]byte(`<message to='bob@example.com'><body>from Inner</body></message>`))
	if err != nil {
		t.Fatal(err)
	}
	s.SetChildTexts([]ChildText{
		{Name: xml.Name{Space: "urn:x", Local: "body"}, Text: "other namespace"},
		{Name: xml.Name{Space: NSClient, Local: "body"}, Text: "first"},
		{Name: xml.Name{Space: NSClient, Local: "body"}, Text: "second"},
		{Name: xml.Name{Space: NSClient, Local: "thread"}, Text: "t1"},
		{Name: xml.Name{Space: NSClient, Local: "subject"}},
	})
	m, err := ToMessage(&s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Body != "first" || m.Thread != "t1" || m.Subject != "" {
		t.Fatalf("body %q, thread %q, subject %q", m.Body, m.Thread, m.Subject)
	}
	s.SetChildTexts(nil) // known: no children
	if m, err = ToMessage(&s); err != nil || m.Body != "" {
		t.Fatalf("no children: body %q (%v)", m.Body, err)
	}
}
