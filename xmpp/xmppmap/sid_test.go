package xmppmap

import (
	"bytes"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

const room = "r@conference.example.com"

func TestStripStanzaIDs(t *testing.T) {
	for i, c := range []struct {
		in, want string
	}{
		0: {in: `<message type='groupchat'><body>hi</body></message>`, want: `<message type='groupchat'><body>hi</body></message>`},
		1: {in: `<message type='groupchat'><body>hi</body><stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='` + room + `'/></message>`,
			want: `<message type='groupchat'><body>hi</body></message>`},
		2: {in: `<message><stanza-id xmlns='urn:xmpp:sid:0' id='x' by='other@example.com'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/><stanza-id xmlns="urn:xmpp:sid:0" by="` + room + `" id="y"></stanza-id><body>b</body></message>`,
			want: `<message><stanza-id xmlns='urn:xmpp:sid:0' id='x' by='other@example.com'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/><body>b</body></message>`},
		3: {in: `<message><x xmlns='urn:example'><stanza-id xmlns='urn:xmpp:sid:0' by='` + room + `' id='nested'/></x></message>`,
			want: `<message><x xmlns='urn:example'><stanza-id xmlns='urn:xmpp:sid:0' by='` + room + `' id='nested'/></x></message>`},
	} {
		got, err := StripStanzaIDs([]byte(c.in), room)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if string(got) != c.want {
			t.Errorf("%d:\n got %s\nwant %s", i, got, c.want)
		}
	}
	if _, err := StripStanzaIDs([]byte(`<message><stanza-id xmlns='urn:xmpp:sid:0'`), room); err == nil {
		t.Error("broken XML was accepted")
	}
}

func TestFromMessageStanzaID(t *testing.T) {
	from := crosstalk.MustParseAddress(room + "/nick")
	to := crosstalk.MustParseAddress("b@example.com/r")
	want := `<stanza-id xmlns='urn:xmpp:sid:0' id='0001abcdefghi' by='` + room + `'/>`
	native := crosstalk.Native{Protocol: crosstalk.ProtocolXMPP, Payload: []byte(`<message from='` + from.String() + `' to='` + to.String() + `' type='groupchat'><body>hi</body></message>`)}
	for i, m := range []crosstalk.Message{
		{From: from, To: to, Type: crosstalk.MessageGroupchat, Body: "hi", StanzaID: "0001abcdefghi"},
		{From: from, To: to, Type: crosstalk.MessageGroupchat, Body: "hi", StanzaID: "0001abcdefghi", Native: native},
	} {
		out := FromMessage(&m)
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("%d: no stanza-id in %s", i, out)
		}
		if _, err := ParseStanza(out); err != nil {
			t.Errorf("%d: %v", i, err)
		}
	}
	m := crosstalk.Message{From: from, To: to, Type: crosstalk.MessageChat, Body: "pm", StanzaID: "0001abcdefghi"}
	if out := FromMessage(&m); bytes.Contains(out, []byte("stanza-id")) {
		t.Errorf("a private message got the room's stanza-id: %s", out)
	}
}

// FuzzStripStanzaIDs: stripping never fails on a stanza that parses, leaves
// no top-level stanza-id by the room, and keeps everything else.
func FuzzStripStanzaIDs(f *testing.F) {
	f.Add([]byte(`<message><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' id='a' by='` + room + `'/></message>`))
	f.Add([]byte(`<message><origin-id xmlns='urn:xmpp:sid:0' id='a'/></message>`))
	f.Add([]byte(`<message><stanza-id xmlns='urn:xmpp:sid:0' by='` + room + `'>text<b/></stanza-id><body>x</body></message>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseStanza(raw)
		if err != nil {
			return
		}
		out, err := StripStanzaIDs(raw, room)
		if err != nil {
			return // inner XML the full decoder refuses
		}
		back, err := ParseStanza(out)
		if err != nil {
			t.Fatalf("stripped stanza does not parse: %v\n%s", err, out)
		}
		children, err := back.Children()
		if err != nil {
			return
		}
		for _, c := range children {
			if c.XMLName.Space == NSSID && c.XMLName.Local == "stanza-id" && c.Attr("by") == room {
				t.Fatalf("a stanza-id by the room is left:\n%s", out)
			}
		}
		if before, err := s.Children(); err == nil && len(before)-len(children) < 0 {
			t.Fatalf("stripping added elements")
		}
	})
}
