package xmpp

import "testing"

// BenchmarkChatToComponent is BenchmarkChat with an external component
// (XEP-0114) as the receiver: a client's messages to user@component are
// routed through the hub's service domain to the component's stream. Run
// it side by side with BenchmarkChat for the ratio:
//
//	go test -run XXX -bench 'BenchmarkChat$|BenchmarkChatToComponent' -count 3 ./xmpp/
func BenchmarkChatToComponent(b *testing.B) {
	ts := startServer(b, withComponent)
	a := ts.login(b, ts.user(b, "alice"), "a1", true)
	comp, got := ts.dialComponent(b, compDomain, compSecret)
	if got != "handshake" {
		b.Fatalf("handshake: %q", got)
	}
	msg := []byte("<message to='bob@" + compDomain + "' type='chat'><body>benchmark message with a little text in it, Grüße</body>" +
		"<active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	pumpMessages(b, a, comp, msg)
}
