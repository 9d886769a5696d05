package xmppmap

import "testing"

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
