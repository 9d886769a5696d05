package xmpp

import (
	"sync/atomic"
	"testing"
	"time"
)

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
	var received atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for received.Load() < int64(b.N) {
			e, err := comp.tryNext()
			if err != nil {
				return
			}
			if e.XMLName.Local == "message" {
				received.Add(1)
			}
		}
	}()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := range b.N {
		for int64(i)-received.Load() >= 256 {
			select {
			case <-done:
				b.Fatalf("receiver stopped after %d of %d", received.Load(), b.N)
			default:
				time.Sleep(50 * time.Microsecond)
			}
		}
		if _, err := a.conn.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	if n := received.Load(); n != int64(b.N) {
		b.Fatalf("received %d of %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
