package xmpp

import (
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkMUCFanout measures one groupchat message into a room through
// the whole server (TLS, mapping, the hub's room, one writer per session)
// until the last occupant has read it: ns/op is the time to the last
// delivery, with every occupant a real TLS client on loopback.
func BenchmarkMUCFanout(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprintf("occupants=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, n int) {
	ts := startServer(b, func(c *Config) { c.ConnectionsPerIP = n + 8 })
	const room = "bench@conference.example.test"
	arrived := make(chan struct{}, n)
	var readers sync.WaitGroup
	clients := make([]*client, n)
	for i := range n {
		c := ts.login(b, ts.user(b, fmt.Sprintf("u%d", i)), "r", false)
		c.send(fmt.Sprintf("<presence to='%s/n%d'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>", room, i))
		for j := 0; ; j++ { // the occupants' presence, then one's own
			if e := c.next(); e.XMLName.Local == "presence" && strings.Contains(e.Inner, "code='110'") {
				break
			}
			if j > i+8 {
				b.Fatalf("no self-presence for occupant %d", i)
			}
		}
		clients[i] = c
		readers.Add(1)
		go func() { // reads until the connection is closed
			defer readers.Done()
			drainRoom(c, arrived)
		}()
	}
	msg := "<message to='" + room + "' type='groupchat'><body>fan-out Grüße</body></message>"
	b.ResetTimer()
	for range b.N {
		clients[0].send(msg)
		for range n {
			select {
			case <-arrived:
			case <-time.After(30 * time.Second):
				b.Fatal("a delivery took over 30 s")
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
	for _, c := range clients {
		_ = c.conn.Close()
	}
	readers.Wait()
}

// drainRoom reads a client's stream and signals every groupchat body.
func drainRoom(c *client, arrived chan<- struct{}) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Minute))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var e el
		if err := c.dec.DecodeElement(&e, &start); err != nil {
			return
		}
		if e.XMLName.Local == "message" && strings.Contains(e.Inner, "fan-out") {
			arrived <- struct{}{}
		}
	}
}
