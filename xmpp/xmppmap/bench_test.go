package xmppmap

import (
	"encoding/xml"
	"testing"
)

// chatStanza is a client's chat message as BenchmarkChat in xmpp sends it,
// after the server stamped its from.
var chatStanza = []byte("<message to='bob@example.com' type='chat' id='m1' from='alice@example.com/a1'>" +
	"<body>benchmark message with a little text in it, Grüße</body>" +
	"<active xmlns='http://jabber.org/protocol/chatstates'/></message>")

// BenchmarkToMessage is the mapping of one chat message from its bytes:
// the stanza parsed, then mapped to a core message.
func BenchmarkToMessage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s, err := ParseStanza(chatStanza)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ToMessage(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseStanza is the parse alone, which the server's read loop no
// longer does for a client's stanza (NewStanza takes the decoder's parts).
func BenchmarkParseStanza(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseStanza(chatStanza); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToMessageFromStream is the server's read loop's mapping: the
// stanza made of the decoder's parts (NewStanza, SetChildTexts), nothing
// parsed again.
func BenchmarkToMessageFromStream(b *testing.B) {
	s0, err := ParseStanza(chatStanza)
	if err != nil {
		b.Fatal(err)
	}
	start := xml.StartElement{Name: xml.Name{Space: NSClient, Local: s0.Name}, Attr: s0.Attrs}
	texts := []ChildText{
		{Name: xml.Name{Space: NSClient, Local: "body"}, Text: "benchmark message with a little text in it, Grüße"},
		{Name: xml.Name{Space: "http://jabber.org/protocol/chatstates", Local: "active"}},
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := NewStanza(start, s0.Inner)
		if err != nil {
			b.Fatal(err)
		}
		s.SetChildTexts(texts)
		if _, err := ToMessage(&s); err != nil {
			b.Fatal(err)
		}
	}
}
