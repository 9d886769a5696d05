package xmppmap

import (
	"strings"
	"testing"
	"time"

	"github.com/crosstalk-im/crosstalk"
)

// TestRoomReaddressesNative checks that a groupchat message a room re-sends
// to an occupant goes out from room/nick to the occupant, not with the
// sender's original addresses, and keeps every extension element.
func TestRoomReaddressesNative(t *testing.T) {
	raw := `<message from='alice@example.com/phone' to='lounge@conference.example.com' type='groupchat' id='g1'>` +
		`<body>Grüße</body><active xmlns='http://jabber.org/protocol/chatstates'/>` +
		`<origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`
	s, err := ParseStanza([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ToMessage(&s)
	if err != nil {
		t.Fatal(err)
	}
	m.From = crosstalk.MustParseAddress("lounge@conference.example.com/Alice")
	m.To = crosstalk.MustParseAddress("bob@example.com/b1")
	out := string(FromMessage(&m))
	for _, want := range []string{"from='lounge@conference.example.com/Alice'", "to='bob@example.com/b1'", "id='g1'",
		"type='groupchat'", "chatstates", "urn:xmpp:sid:0", "Grüße"} {
		if !strings.Contains(out, want) {
			t.Errorf("re-addressed %s lacks %s", out, want)
		}
	}
	if strings.Contains(out, "alice@example.com") || strings.Contains(out, "to='lounge@") {
		t.Errorf("re-addressed message leaks the original addressing: %s", out)
	}
	m.Delayed, m.Time = true, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if out := string(FromMessage(&m)); !strings.Contains(out, "<delay xmlns='urn:xmpp:delay' from='lounge@conference.example.com'") {
		t.Errorf("history without the room's delay: %s", out)
	}
}

func TestParseJoin(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		x    string
		want crosstalk.RoomJoin
	}{
		{``, crosstalk.RoomJoin{MaxStanzas: -1}},
		{`<password>sécret</password>`, crosstalk.RoomJoin{MaxStanzas: -1, Password: "sécret"}},
		{`<history maxstanzas='5'/>`, crosstalk.RoomJoin{MaxStanzas: 5}},
		{`<history maxchars='0'/>`, crosstalk.RoomJoin{MaxStanzas: 0}},
		{`<history maxstanzas='-3'/>`, crosstalk.RoomJoin{MaxStanzas: -1}},
		{`<history seconds='60'/>`, crosstalk.RoomJoin{MaxStanzas: -1, Since: now.Add(-time.Minute)}},
		{`<history since='2026-05-01T10:00:00Z'/>`, crosstalk.RoomJoin{MaxStanzas: -1, Since: now.Add(-2 * time.Hour)}},
		{`<history since='2026-05-01T10:00:00Z' seconds='60'/>`, crosstalk.RoomJoin{MaxStanzas: -1, Since: now.Add(-time.Minute)}},
		{`<history seconds='x' maxstanzas='2'/>`, crosstalk.RoomJoin{MaxStanzas: 2}},
	} {
		got := parseJoin(&Element{Inner: []byte(tc.x)}, now)
		if got.Password != tc.want.Password || got.MaxStanzas != tc.want.MaxStanzas || !got.Since.Equal(tc.want.Since) {
			t.Errorf("%d: %s: got %+v, want %+v", i, tc.x, *got, tc.want)
		}
	}
	s, _ := ParseStanza([]byte(`<presence to='r@conference.example.com/n'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='1'/></x></presence>`))
	if p, err := ToPresence(&s); err != nil || p.Join == nil || p.Join.MaxStanzas != 1 {
		t.Fatalf("join presence: %+v %v", p, err)
	}
}

func TestOccupantPresence(t *testing.T) {
	p := &crosstalk.Presence{From: crosstalk.MustParseAddress("r@conference.example.com/Bob"), Show: crosstalk.ShowAway,
		Occupant: &crosstalk.OccupantInfo{Role: crosstalk.RoleParticipant, Affiliation: crosstalk.AffiliationMember,
			RealAddress: crosstalk.MustParseAddress("bob@example.com/b1"), OccupantID: "id<1", Codes: []int{110, 100}}}
	out := string(FromPresence(p, crosstalk.MustParseAddress("bob@example.com/b1")))
	for _, want := range []string{"<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='bob@example.com/b1'/>",
		"<status code='110'/><status code='100'/></x>", "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='id&lt;1'/>", "<show>away</show>"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %s", out, want)
		}
	}
	p.Type, p.Occupant.RealAddress, p.Occupant.Codes, p.Occupant.Reason = crosstalk.PresenceUnavailable, crosstalk.Address{}, []int{307}, "bye & go"
	p.Occupant.Role = crosstalk.RoleNone
	out = string(FromPresence(p, crosstalk.MustParseAddress("carol@example.com/c")))
	if !strings.Contains(out, "type='unavailable'") || strings.Contains(out, "jid=") || !strings.Contains(out, "<reason>bye &amp; go</reason></item><status code='307'/>") {
		t.Errorf("kick presence: %s", out)
	}
	p.Occupant.Codes, p.Occupant.Reason = []int{crosstalk.RoomStatusShutdown}, "closing <now>"
	out = string(FromPresence(p, crosstalk.MustParseAddress("carol@example.com/c")))
	if !strings.Contains(out, "<item affiliation='member' role='none'/><destroy><reason>closing &lt;now&gt;</reason></destroy><status code='332'/>") {
		t.Errorf("destroy presence: %s", out)
	}
}
