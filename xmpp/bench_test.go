package xmpp

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkChat measures one chat message from a client through the whole
// server (TLS, read loop, mapping, hub routing, writer) to another client,
// with at most 256 messages in flight so that the receiving test client is
// not disconnected as a slow consumer.
func BenchmarkChat(b *testing.B) {
	ts := startServer(b, nil)
	alice, bob := ts.user(b, "alice"), ts.user(b, "bob")
	a := ts.login(b, alice, "a1", true)
	r := ts.login(b, bob, "b1", true)
	stillWorks(b, r)
	msg := []byte("<message to='" + r.jid + "' type='chat'><body>benchmark message with a little text in it, Grüße</body>" +
		"<active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	pumpMessages(b, a, r, msg)
}

// pumpMessages sends msg b.N times on from and counts the messages that
// arrive at to, with at most 256 in flight so that the receiving test
// client is not disconnected as a slow consumer; it reports msgs/s.
func pumpMessages(b *testing.B, from, to *client, msg []byte) {
	b.Helper()
	var received atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for received.Load() < int64(b.N) {
			e, err := to.tryNext()
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
		if _, err := from.conn.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	if n := received.Load(); n != int64(b.N) {
		b.Fatalf("received %d of %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
