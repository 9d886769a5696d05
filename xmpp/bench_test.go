package xmpp

import "testing"

// BenchmarkChat measures one chat message from a client through the whole
// server (TLS, read loop, mapping, hub routing, writer) to another client,
// with the sender writing as fast as the server reads.
func BenchmarkChat(b *testing.B) {
	ts := startServer(b, nil)
	alice, bob := ts.user(b, "alice"), ts.user(b, "bob")
	a := ts.login(b, alice, "a1", true)
	r := ts.login(b, bob, "b1", true)
	stillWorks(b, r)
	msg := []byte("<message to='" + r.jid + "' type='chat'><body>benchmark message with a little text in it, Grüße</body>" +
		"<active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	done := make(chan int, 1)
	go func() {
		n := 0
		for n < b.N {
			e, err := r.tryNext()
			if err != nil {
				break
			}
			if e.XMLName.Local == "message" {
				n++
			}
		}
		done <- n
	}()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		if _, err := a.conn.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if n := <-done; n != b.N {
		b.Fatalf("received %d of %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
